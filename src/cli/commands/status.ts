import { describeVector } from '../../manifest/vector.js';
import type { StatusResult } from '../../app/status.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'show services, builds and the manifest generation',
  help: `Usage: bake status [--env ENV]

Shows the latest committed version of each service, each image's builds with their version
vectors and whether they are stale, each environment's live and previous releases, and the
manifest's generation number (it changes on every write).

Options:
  --env ENV     show only this environment

JSON: {"generation","services":{name:{"latest","digest","revision","author"}},
       "images":{image:[{"build","digest","vector","status","supersededBy"}]},
       "environments":{env:{"live":[release…],"running":{"svc":n},"previous":[release…],"refusals":n,
         "serving"?:[{"release","build","state","instances","share","figures":{"requests","errors","errorRate","p50","p99"}}],
         "pending"?:[text…],"lastStop"?:{"release","reason","rule","figures","message","at","by"}}}}

With --env, every release that has instances at the environment's router is listed with its
share of traffic and the router's figures for it; pending lists a probation, a paused or
interrupted rollout or a preview and the command that finishes it; lastStop says why the last
rollout stopped.`,
  options: ['env'],
  positionals: false,
  service: 'forward',
  async run(ctx, _positionals, values) {
    const result = await invoke(ctx, 'status', { ...(values.env !== undefined && { env: values.env }) });
    // Recorded text (revisions, authors, messages) is shown with its control characters escaped.
    return { json: result, human: renderStatus(result).map((line) => escapeTerminal(line).replaceAll('\n', '\\n')) };
  },
});

function renderStatus(result: StatusResult): string[] {
  const human = [`generation ${result.generation}`, 'services:'];
  for (const [name, s] of Object.entries(result.services))
    human.push(`  ${name} v${s.latest}${s.revision ? ` rev ${s.revision.slice(0, 12)}` : ''}`);
  human.push('images:');
  for (const [image, builds] of Object.entries(result.images)) {
    for (const b of builds) human.push(`  ${image}:${b.build} ${b.status} ${describeVector(b.vector)} ${b.digest.slice(0, 19)}`);
  }
  human.push('environments:');
  for (const [name, env] of Object.entries(result.environments)) {
    if (env.live.length === 0) human.push(`  ${name}: nothing live`);
    for (const live of env.live)
      human.push(`  ${name}: ${live.image}:${live.build} (release ${live.id}) ${describeVector(live.vector)} ${live.digest.slice(0, 19)}`);
    for (const p of env.previous.slice(0, 5))
      human.push(`    previous: ${p.image}:${p.build} (release ${p.id}) ${describeVector(p.vector)}`);
    for (const r of env.serving ?? []) {
      const f = r.figures;
      human.push(
        `    serving: release ${r.release}${r.build !== null ? ` (build ${r.build}, ${r.state})` : ''} ${r.instances} instance(s), ${r.share}% of traffic; ` +
          `${f.requests} req, ${f.errors} err (${(f.errorRate * 100).toFixed(1)}%), p50 ${f.p50 ?? '–'} ms, p99 ${f.p99 ?? '–'} ms`,
      );
    }
    for (const line of env.pending ?? []) human.push(`    pending: ${line}`);
    if (env.lastStop)
      human.push(
        `    last rollout stopped: release ${env.lastStop.release}, ${env.lastStop.reason} at ${env.lastStop.at}: ${env.lastStop.message}`,
      );
    if (env.refusals > 0) human.push(`    ${env.refusals} refused release(s): see bake log --env ${name}`);
  }
  if (result.interrupted.length > 0) human.push(`interrupted (failed) service requests: ${result.interrupted.length}; see bake log`);
  return human;
}
