import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'import a manifest file into the database store',
  help: `Usage: bake migrate [--from FILE] [--to STORE]

Imports a version manifest file — a workspace's .bake/manifest.json from before the database, or
what bake export wrote — into an empty store, in one transaction, keeping every record and the
generation. The file is left as it is. A store that already holds records is refused.

Options:
  --from FILE   the manifest to import (default .bake/manifest.json)
  --to STORE    where: postgres://USER@HOST:PORT/DB, sqlite[:PATH] or json[:PATH] (default the
                workspace's store: BAKE_DATABASE_URL, else bake.yaml database:, else
                .bake/state.db)

JSON: {"from","to","generation","services","versions","builds","releases"}`,
  options: ['from', 'to'],
  positionals: false,
  service: 'refuse',
  async run(ctx, _positionals, values) {
    const result = await invoke(ctx, 'migrate', {
      ...(values.from !== undefined && { from: values.from }),
      ...(values.to !== undefined && { to: values.to }),
    });
    return {
      json: result,
      human: [
        `imported ${result.from} into ${result.to}: generation ${result.generation}, ${result.services} service(s), ${result.versions} version(s), ${result.builds} build(s), ${result.releases} release(s)`,
      ],
    };
  },
});
