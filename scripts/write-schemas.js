// Writes schemas/bake.schema.json and schemas/recipe.schema.json from the field specs.
// Run it after `npx tsc -p .` (it reads the compiled dist/); test/config.test.ts fails when the
// committed files differ from what the specs generate, so run it whenever spec.ts changes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipeJsonSchema, workspaceJsonSchema } from '../dist/config/json-schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemas = join(root, 'schemas');
mkdirSync(schemas, { recursive: true });
for (const [name, schema] of [
  ['bake.schema.json', workspaceJsonSchema()],
  ['recipe.schema.json', recipeJsonSchema()],
]) {
  const file = join(schemas, name);
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${relative(root, file)}`);
}
