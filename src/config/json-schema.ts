import { recipeSpec, workspaceSpec, type Spec } from './spec.js';

/** JSON Schema (draft 2020-12) for bake.yaml, generated from the same spec the validator uses. */
export function workspaceJsonSchema(): object {
  return document('https://bake.invalid/schemas/bake.schema.json', 'bake.yaml', workspaceSpec);
}

/** JSON Schema (draft 2020-12) for recipes/*.yaml. */
export function recipeJsonSchema(): object {
  return document('https://bake.invalid/schemas/recipe.schema.json', 'bake recipe', recipeSpec);
}

function document(id: string, title: string, spec: Spec): object {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: id, title, ...toSchema(spec) };
}

function toSchema(spec: Spec): Record<string, unknown> {
  const description = spec.description !== undefined ? { description: spec.description } : {};
  switch (spec.type) {
    case 'string':
      return {
        type: 'string',
        ...description,
        ...(spec.enum && { enum: [...spec.enum] }),
        ...(spec.pattern && { pattern: spec.pattern.source }),
      };
    case 'integer':
      return { type: 'integer', ...description, ...(spec.minimum !== undefined && { minimum: spec.minimum }), ...(spec.maximum !== undefined && { maximum: spec.maximum }) };
    case 'boolean':
      return { type: 'boolean', ...description };
    case 'any':
      return { ...description };
    case 'array':
      return { type: 'array', ...description, items: toSchema(spec.items), ...(spec.minItems !== undefined && { minItems: spec.minItems }), ...(spec.unique && { uniqueItems: true }) };
    case 'map':
      return {
        type: 'object',
        ...description,
        ...(spec.keyPattern && { propertyNames: { pattern: spec.keyPattern.source } }),
        additionalProperties: toSchema(spec.values),
      };
    case 'object':
      return {
        type: 'object',
        ...description,
        properties: Object.fromEntries(Object.entries(spec.properties).map(([k, v]) => [k, toSchema(v)])),
        ...(spec.required && spec.required.length > 0 && { required: [...spec.required] }),
        additionalProperties: false,
      };
    case 'oneOf':
      return { ...description, oneOf: spec.options.map(toSchema) };
  }
}
