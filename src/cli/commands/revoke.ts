import type { RevocationResult } from '../../app/record-revocation.js';
import { reasonProblem } from '../../revoke/revocation-change.js';
import { InputError, UsageError } from '../../util/errors.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const revokeCommand = defineCommand({
  name: 'revoke',
  summary: 'mark a service version bad: the gate refuses every build and release that holds it',
  help: `Usage: bake revoke SERVICE VERSION --reason TEXT [--and-older]

Records that a committed version is bad (who, when and why). From then on a build or release
whose vector holds it is refused with exit 3 (kind revoked), naming the version, the reason, who
revoked it and when, and the version to use instead: the newest descendant that is not revoked.
Rollback does not go back to it unless --allow-revoked is given (recorded). Newer versions are
not revoked: the fix bakes and releases normally. bake status lists every environment that runs
it and every build, registry push and digest that holds it; bake status --check exits 3 while one runs.

bake.yaml's hooks.revoked command runs with the JSON document below on standard input (and no
secrets in its environment), and hooks.webhook gets it POSTed; a failing hook is reported and
does not undo the revocation. bake unrevoke reverses one.

Options:
  --reason TEXT   why (required): shown in every refusal
  --and-older     also revoke every ancestor, v1 … VERSION-1 (the bad change came in at VERSION)

JSON: {"event":"revoked","service","versions":[{"version","revision","layer"}],"unchanged":[n…],
       "reason","by","at","use":n|null,
       "affected":{"environments":[{"env","image","release","build","digest","state","holds"}],
                   "builds":[{"image","build","digest","level","builtAt","builtBy","holds"}],
                   "pushes":[{"image","build","reference","digest","storeDigest","compressed","at","by","holds",…}],
                   "digests":[…]},
       "hooks":[{"kind","target","ok","exitCode"?,"status"?,"output"?}]}`,
  options: ['reason', 'and-older'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const { service, version } = serviceAndVersion('revoke', positionals);
    const problem = reasonProblem(values.reason, true);
    if (problem) throw new InputError([problem]);
    const result = await invoke(ctx, 'revoke', {
      service,
      version,
      reason: values.reason ?? '',
      ...(values['and-older'] === true && { andOlder: true }),
    });
    return { json: result, human: renderRevocation(result) };
  },
});

/** SERVICE VERSION from the positionals; VERSION is `5` or `v5`. Throws UsageError naming the fix. */
export function serviceAndVersion(command: string, positionals: readonly string[]): { service: string; version: number } {
  const [service, raw, ...rest] = positionals;
  if (!service || !raw || rest.length > 0) throw new UsageError(`bake ${command} takes SERVICE VERSION (see bake ${command} --help)`);
  const match = /^v?(\d{1,15})$/.exec(raw);
  const version = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new InputError([
      { file: 'command line', field: 'VERSION', message: `${JSON.stringify(raw)} is not a version number`, fix: 'name it as 5 or v5' },
    ]);
  }
  return { service, version };
}

/** The lines a person reads after a revoke or unrevoke; recorded text (a reason, hook output) is escaped. */
export function renderRevocation(result: RevocationResult): string[] {
  const verb = result.event === 'revoked' ? 'revoked' : 'unrevoked';
  const lines =
    result.versions.length === 0
      ? [`${result.service} ${result.unchanged.map((v) => `v${v}`).join(', ')}: already ${verb}; nothing recorded`]
      : [`${verb} ${result.service} ${result.versions.map((v) => `v${v.version}`).join(', ')}${result.reason ? `: ${result.reason}` : ''}`];
  if (result.event === 'revoked' && result.versions.length > 0) {
    lines.push(result.use === null ? `  no newer version is free of it yet: commit the fix` : `  use ${result.service} v${result.use}`);
  }
  for (const e of result.affected.environments) {
    lines.push(`  ${e.env} runs it: ${e.image}:${e.build} (release ${e.release}) ${e.digest.slice(0, 19)}`);
  }
  for (const b of result.affected.builds) {
    lines.push(
      `  build ${b.image}:${b.build} holds ${b.holds.map((h) => `${h.service} v${h.version}`).join(', ')} ${b.digest.slice(0, 19)}`,
    );
  }
  const stands = result.event === 'revoked' ? 'the revocation stands' : 'the unrevoke stands';
  for (const h of result.hooks) {
    const how = h.kind === 'webhook' ? `HTTP ${h.status ?? 'no answer'}` : `exit ${h.exitCode ?? 'none'}`;
    const output = h.output ? `: ${h.output.trim().split('\n').slice(-3).join(' / ')}` : '';
    lines.push(h.ok ? `  told ${h.target} (${how})` : `  hook FAILED: ${h.target} (${how})${output}; ${stands}`);
  }
  return lines.map((line) => escapeTerminal(line).replaceAll('\n', '\\n'));
}
