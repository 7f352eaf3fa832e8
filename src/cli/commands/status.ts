import { describeVector } from '../../manifest/vector.js';
import { ExitCode } from '../../util/errors.js';
import type { StatusResult } from '../../app/status.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'show services, builds and their pushes, environments, revocations and the generation',
  help: `Usage: bake status [--env ENV] [--all] [--check]

Shows the latest committed version of each service, each image's builds with their version
vectors, whether they are stale and every push of them (registry reference, pushed digest, who,
when), each environment's live and previous releases, and the manifest's generation number (it
changes on every write).

Every revoked version (bake revoke) is listed with the reason, who revoked it when and the
version to use, and so is everything that holds one: each environment that runs it now, each
build, each registry copy of a heavy build (bake push, build --push), and each image digest (the
store's, and the pushed one where --compress made it differ).

Only the newest 50 builds of each image and releases of each environment are listed (totals
gives how many there are), so status costs the same after a year of history; --all lists them all.

Options:
  --env ENV     show only this environment
  --all         list every build and release
  --check       exit 3 while any environment (with --env: that one) runs a revoked version

JSON: {"generation","services":{name:{"latest","digest","revision","author"}},
       "images":{image:[{"build","digest","vector","status","supersededBy","builtAt","builtBy",
         "pushes":[{"repository","tag","reference","digest","compressed","at","by","generation"}]}]},
       "environments":{env:{"live":[release…],"running":{"svc":n},"previous":[release…],"refusals":n,
         "serving"?:[{"release","build","state","instances","share","figures":{"requests","errors","errorRate","p50","p99"}}],
         "pending"?:[text…],"lastStop"?:{"release","reason","rule","figures","message","at","by"},
         "placement"?:[{"task","slot","release","node","zone"?,"state","desiredState","error"?}],"placementError"?}},
       "revoked":{"versions":[{"service","version","reason","by","at","use","layer"}],
         "environments":[{"env","image","release","build","digest","state","holds":[{"service","version"}]}],
         "builds":[{"image","build","digest","level","builtAt","builtBy","holds"}],
         "pushes":[{"image","build","reference","digest","storeDigest","compressed","at","by","holds",…}],"digests":[…]},
       "totals":{"builds":{image:n},"releases":{env:n}}}

With --env, every release that has instances at the environment's router is listed with its
share of traffic and the router's figures for it; pending lists a probation, a paused or
interrupted rollout or a preview and the command that finishes it; lastStop says why the last
rollout stopped.`,
  options: ['env', 'all', 'check'],
  positionals: false,
  service: 'forward',
  async run(ctx, _positionals, values) {
    const result = await invoke(ctx, 'status', {
      ...(values.env !== undefined && { env: values.env }),
      ...(values.all === true && { all: true }),
    });
    // Recorded text (revisions, authors, messages) is shown with its control characters escaped.
    const human = renderStatus(result).map((line) => escapeTerminal(line).replaceAll('\n', '\\n'));
    // --check is for CI and monitoring: the status as usual, and exit 3 while a revoked version runs.
    if (values.check !== true) return { json: result, human };
    const running = [...new Set(result.revoked.environments.map((e) => e.env))];
    if (running.length === 0) return { json: result, human: [...human, 'check: no environment runs a revoked version'] };
    return { json: result, human: [...human, `check FAILED: ${running.join(', ')} run a revoked version`], exitCode: ExitCode.refused };
  },
});

function renderStatus(result: StatusResult): string[] {
  const human = [`generation ${result.generation}`, 'services:'];
  for (const [name, s] of Object.entries(result.services))
    human.push(`  ${name} v${s.latest}${s.revision ? ` rev ${s.revision.slice(0, 12)}` : ''}`);
  human.push('images:');
  for (const [image, builds] of Object.entries(result.images)) {
    for (const b of builds) {
      human.push(`  ${image}:${b.build} ${b.status} ${describeVector(b.vector)} ${b.digest.slice(0, 19)}`);
      for (const p of b.pushes) human.push(`    pushed: ${p.reference}${p.compressed ? ' (compressed)' : ''} by ${p.by} at ${p.at}`);
    }
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
    for (const t of env.placement ?? [])
      human.push(
        `    task ${t.task}: release ${t.release} on ${t.node}${t.zone !== undefined ? ` (zone ${t.zone})` : ''}, ${t.state}` +
          `${t.desiredState !== t.state ? ` → ${t.desiredState}` : ''}${t.error ? `: ${t.error}` : ''}`,
      );
    if (env.placementError) human.push(`    placement unknown: ${env.placementError}`);
    for (const line of env.pending ?? []) human.push(`    pending: ${line}`);
    if (env.lastStop)
      human.push(
        `    last rollout stopped: release ${env.lastStop.release}, ${env.lastStop.reason} at ${env.lastStop.at}: ${env.lastStop.message}`,
      );
    if (env.refusals > 0) human.push(`    ${env.refusals} refused release(s): see bake log --env ${name}`);
  }
  const revoked = result.revoked;
  if (revoked.versions.length > 0) human.push('revoked:');
  for (const v of revoked.versions) {
    const use = v.use === null ? 'no newer version is free of it yet' : `use v${v.use}`;
    human.push(`  ${v.service} v${v.version} revoked by ${v.by} at ${v.at}: ${v.reason} (${use})`);
  }
  const holds = (h: { service: string; version: number }[]) => h.map((x) => `${x.service} v${x.version}`).join(', ');
  for (const e of revoked.environments)
    human.push(`  RUNNING in ${e.env}: ${e.image}:${e.build} (release ${e.release}) holds ${holds(e.holds)} ${e.digest.slice(0, 19)}`);
  for (const b of revoked.builds) human.push(`  build ${b.image}:${b.build} holds ${holds(b.holds)} ${b.digest}`);
  for (const p of revoked.pushes) human.push(`  pushed ${p.image}:${p.build} holds ${holds(p.holds)} ${p.reference}`);
  if (result.interrupted.length > 0) human.push(`interrupted (failed) service requests: ${result.interrupted.length}; see bake log`);
  return human;
}
