// Writes schemas/*.json from the field specs (run after `npm run build`; a test checks they match).
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recipeJsonSchema, workspaceJsonSchema } from '../dist/config/json-schema.js';

const schemas = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
writeFileSync(join(schemas, 'bake.schema.json'), `${JSON.stringify(workspaceJsonSchema(), null, 2)}\n`);
writeFileSync(join(schemas, 'recipe.schema.json'), `${JSON.stringify(recipeJsonSchema(), null, 2)}\n`);
