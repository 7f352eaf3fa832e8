import { readManifest } from '../../manifest/manifest-file.js';
import { historyOf } from '../../manifest/history.js';
import { UsageError } from '../../util/errors.js';
import { workspacePaths } from '../../config/workspace-paths.js';
import type { Command } from '../command.js';

export const logCommand: Command = {
  name: 'log',
  summary: 'the history of commits, builds, releases and refusals',
  help: `Usage: bake log [--service S] [--image I] [--env E] [--limit N]

Prints every commit, build (with what made it stale), release (with overrides) and refused
release in time order, so you can see what raced with what.

JSON: {"events":[{"at","by","kind":"commit"|"build"|"release"|"refusal","subject","summary","detail"}]}`,
  options: { service: { type: 'string' }, image: { type: 'string' }, env: { type: 'string' }, limit: { type: 'string' } },
  positionals: false,
  async run(ctx, _positionals, values) {
    const manifest = await readManifest(workspacePaths(ctx.workspace).manifest);
    const limitRaw = values['limit'];
    if (limitRaw !== undefined && (typeof limitRaw !== 'string' || !/^\d+$/.test(limitRaw))) throw new UsageError('bake log: --limit takes a whole number');
    let events = historyOf(manifest, {
      ...(typeof values['service'] === 'string' && { service: values['service'] }),
      ...(typeof values['image'] === 'string' && { image: values['image'] }),
      ...(typeof values['env'] === 'string' && { env: values['env'] }),
    });
    if (typeof limitRaw === 'string') events = events.slice(-Number(limitRaw));
    return { json: { generation: manifest.generation, events }, human: events.map((e) => `${e.at}  ${e.by.padEnd(16)}  ${e.summary}`) };
  },
};
