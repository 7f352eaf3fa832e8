import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write the whole version manifest as one JSON file',
  help: `Usage: bake export [--out FILE]

Writes every record of the workspace's store (versions, builds, pushes, releases, refusals,
revocations, changes) in the manifest file format: a backup, the input of bake migrate, or a file
for other tools. Without --out it prints the manifest.

Options:
  --out FILE   write it here, atomically, instead of printing it

JSON: {"store","generation","out"} with --out, else the manifest itself`,
  options: ['out'],
  positionals: false,
  service: 'refuse',
  async run(ctx, _positionals, values) {
    const result = await invoke(ctx, 'export', { ...(values.out !== undefined && { out: values.out }) });
    if (result.manifest) return { json: result.manifest, human: [JSON.stringify(result.manifest, null, 2)] };
    return { json: result, human: [`wrote generation ${result.generation} of ${result.store} to ${result.out}`] };
  },
});
