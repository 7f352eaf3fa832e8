import { escapeTerminal } from '../../util/terminal-text.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const logCommand = defineCommand({
  name: 'log',
  summary: 'the history of commits, builds, pushes, releases, revocations and refusals',
  help: `Usage: bake log [--service S] [--image I] [--env E] [--limit N]

Prints in time order every commit and refused commit (behind, diverged, moved), build (with what
made it stale), push (registry reference and pushed digest), release (with overrides), refused
release, change of an environment's state (probation, promote, abort, toggle, upgrade…),
revocation and unrevocation, and service request a crash interrupted, so you can see what raced
with what.

Options:
  --service S   only what concerns service S (its commits and revocations, builds, pushes and
                releases that hold it)
  --image I     only image I's builds, pushes, releases and refusals
  --env E       only environment E's releases, changes and refusals
  --limit N     only the newest N events

JSON: {"generation","events":[{"at","by","kind","subject","summary","detail"}]}, kind one of commit,
      commit-refusal, build, push, release, refusal, change, revoke, unrevoke, interrupted`,
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
    return {
      json: result,
      human: result.events.map((e) => escapeTerminal(`${e.at}  ${e.by.padEnd(16)}  ${e.summary}`).replaceAll('\n', '\\n')),
    };
  },
});
