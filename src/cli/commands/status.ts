import { readManifest } from '../../manifest/manifest-file.js';
import { describeVector } from '../../image/build-image.js';
import { staleServices } from '../../manifest/staleness.js';
import { workspacePaths } from '../../config/workspace-paths.js';
import type { Command } from '../command.js';
import { liveReleases, runningVector } from '../../release/release.js';

export const statusCommand: Command = {
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
       "environments":{env:{"live":[release…],"running":{"svc":n},"previous":[release…],"refusals":n}}}`,
  options: { env: { type: 'string' } },
  positionals: false,
  async run(ctx, _positionals, values) {
    const only = typeof values['env'] === 'string' ? values['env'] : undefined;
    const manifest = await readManifest(workspacePaths(ctx.workspace).manifest);
    const services = Object.fromEntries(
      Object.entries(manifest.services).map(([name, h]) => {
        const latest = h.versions.at(-1);
        return [name, { latest: latest?.version ?? 0, digest: latest?.digest ?? null, revision: latest?.revision ?? null, author: latest?.author ?? null }];
      }),
    );
    const images = Object.fromEntries(
      Object.entries(manifest.builds).map(([image, builds]) => [
        image,
        builds.map((b) => {
          const superseded = staleServices(manifest, b.vector);
          return { build: b.id, digest: b.digest, vector: b.vector, status: superseded.length > 0 ? 'stale' : 'current', supersededBy: superseded, builtAt: b.builtAt, builtBy: b.builtBy };
        }),
      ]),
    );
    const human = [`generation ${manifest.generation}`, 'services:'];
    for (const [name, s] of Object.entries(services)) human.push(`  ${name} v${s.latest}${s.revision ? ` rev ${s.revision.slice(0, 12)}` : ''}`);
    human.push('images:');
    for (const [image, builds] of Object.entries(images)) {
      for (const b of builds) human.push(`  ${image}:${b.build} ${b.status} ${describeVector(b.vector)} ${b.digest.slice(0, 19)}`);
    }
    const environments = Object.fromEntries(
      Object.entries(manifest.environments)
        .filter(([name]) => only === undefined || name === only)
        .map(([name, env]) => {
          const live = liveReleases(env);
          const liveIds = new Set(live.map((r) => r.id));
          const previous = env.releases.filter((r) => !liveIds.has(r.id)).reverse();
          return [name, { live, running: runningVector(env), previous, refusals: env.refusals.length }];
        }),
    );
    if (only !== undefined && !(only in environments)) environments[only] = { live: [], running: {}, previous: [], refusals: 0 };
    human.push('environments:');
    for (const [name, env] of Object.entries(environments)) {
      if (env.live.length === 0) human.push(`  ${name}: nothing live`);
      for (const live of env.live) human.push(`  ${name}: ${live.image}:${live.build} (release ${live.id}) ${describeVector(live.vector)} ${live.digest.slice(0, 19)}`);
      for (const p of env.previous.slice(0, 5)) human.push(`    previous: ${p.image}:${p.build} (release ${p.id}) ${describeVector(p.vector)}`);
      if (env.refusals > 0) human.push(`    ${env.refusals} refused release(s): see bake log --env ${name}`);
    }
    const interrupted = manifest.interrupted ?? [];
    if (interrupted.length > 0) human.push(`interrupted (failed) service requests: ${interrupted.length}; see bake log`);
    return { json: { generation: manifest.generation, services, images, environments, interrupted }, human };
  },
};
