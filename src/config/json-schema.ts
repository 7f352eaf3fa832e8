import type { Spec } from './spec-builder.js';
import { recipeSpec, workspaceSpec } from './spec.js';

/**
 * JSON Schemas (draft 2020-12) for the input files, generated from the same specs the validator
 * uses, so editors complete and flag exactly what bake accepts. schemas/*.json are written from
 * these by scripts/write-schemas.js; a test fails when they drift. Never throws.
 */

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/** JSON Schema for `<workspace>/bake.yaml`. */
export function workspaceJsonSchema(): object {
  return { $schema: DRAFT, $id: 'https://bake.invalid/schemas/bake.schema.json', title: 'bake.yaml', ...toSchema(workspaceSpec) };
}

/** JSON Schema for `<workspace>/recipes/*.yaml`. */
export function recipeJsonSchema(): object {
  return { $schema: DRAFT, $id: 'https://bake.invalid/schemas/recipe.schema.json', title: 'bake recipe', ...toSchema(recipeSpec) };
}

function toSchema(spec: Spec): Record<string, unknown> {
  const description = spec.description !== undefined ? { description: spec.description } : {};
  switch (spec.type) {
    case 'string':
      return {
        type: 'string',
        ...description,
        ...(spec.enum && { enum: [...spec.enum] }),
        ...(spec.pattern && { pattern: spec.pattern.regex.source }),
      };
    case 'integer':
      return {
        type: 'integer',
        ...description,
        ...(spec.minimum !== undefined && { minimum: spec.minimum }),
        ...(spec.maximum !== undefined && { maximum: spec.maximum }),
      };
    case 'boolean':
      return { type: 'boolean', ...description };
    case 'array':
      return {
        type: 'array',
        ...description,
        items: toSchema(spec.items),
        ...(spec.minItems !== undefined && { minItems: spec.minItems }),
        ...(spec.unique && { uniqueItems: true }),
      };
    case 'map':
      return {
        type: 'object',
        ...description,
        ...(spec.keys && { propertyNames: { pattern: spec.keys.regex.source } }),
        additionalProperties: toSchema(spec.values),
      };
    case 'object':
      return {
        type: 'object',
        ...description,
        properties: Object.fromEntries(Object.entries(spec.properties).map(([key, value]) => [key, toSchema(value)])),
        ...(spec.required && spec.required.length > 0 && { required: [...spec.required] }),
        additionalProperties: false,
      };
    case 'oneOf':
      return { ...description, oneOf: spec.options.map(toSchema) };
  }
}
