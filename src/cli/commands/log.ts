import { escapeTerminal } from '../../util/terminal-text.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const logCommand = defineCommand({
  name: 'log',
  summary: 'the history of commits, builds, releases and refusals',
  help: `Usage: bake log [--service S] [--image I] [--env E] [--limit N]

Prints every commit, build (with what made it stale), release (with overrides) and refused
release in time order, so you can see what raced with what.

JSON: {"events":[{"at","by","kind":"commit"|"build"|"release"|"refusal","subject","summary","detail"}]}`,
  options: ['service', 'image', 'env', 'limit'],
  positionals: false,
  service: 'forward',
  async run(ctx, _positionals, values) {
    const result = await invoke(ctx, 'log', {
      ...(values.service !== undefined && { service: values.service }),
      ...(values.image !== undefined && { image: values.image }),
      ...(values.env !== undefined && { env: values.env }),
      ...(values.limit !== undefined && { limit: values.limit }),
    });
    // Recorded text comes from whoever recorded it: escape sequences are shown, never obeyed.
    return { json: result, human: result.events.map((e) => escapeTerminal(`${e.at}  ${e.by.padEnd(16)}  ${e.summary}`).replaceAll('\n', '\\n')) };
  },
});
