import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VersionManifest } from '../../src/manifest/model.js';
import { replaceManifest } from '../helpers/manifest.js';

/** How big a year is: the numbers the dashboard must stay fast with. */
export const YEAR = { services: 20, versions: 20_000, images: 4, builds: 5_000, environments: 3 } as const;

const DAY = 86_400_000;
const hex = (n: number, width = 64) => n.toString(16).padStart(width, '0');

/**
 * A workspace with a year of history: bake.yaml with 20 services and 3 environments, 4 recipes,
 * and a manifest of 20,000 committed versions, 5,000 builds, 500 releases and 50 refusals, in
 * the shape bake itself writes (each record at its own generation, times spread over a year), imported
 * into the workspace's store with `bake migrate` (`env` picks the store, default SQLite). No image
 * store: the builds' layers read as "not in the store". Resolves with the manifest's generation.
 */
export async function writeYearOfHistory(
  dir: string,
  env: Record<string, string> = {},
): Promise<{ generation: number; lastVersion: number }> {
  const start = Date.parse('2025-12-01T00:00:00Z');
  const services = Array.from({ length: YEAR.services }, (_, i) => `svc${String(i).padStart(2, '0')}`);
  const perService = YEAR.versions / YEAR.services;
  const members = (image: number) => services.slice(image * 5, image * 5 + 5);
  let generation = 0;
  const at = (g: number) => new Date(start + (g / (YEAR.versions + YEAR.builds + 2000)) * 365 * DAY).toISOString();

  const manifest = {
    schema: 1,
    generation: 0,
    services: {} as Record<string, { versions: unknown[] }>,
    builds: {} as Record<string, unknown[]>,
    environments: {} as Record<string, { live: Record<string, number>; releases: unknown[]; refusals: unknown[]; changes: unknown[] }>,
  };
  for (const s of services) manifest.services[s] = { versions: [] };
  for (let i = 0; i < YEAR.images; i++) manifest.builds[`img${i}`] = [];
  const envs = ['dev', 'staging', 'prod'];
  for (const e of envs) manifest.environments[e] = { live: {}, releases: [], refusals: [], changes: [] };

  // Interleave as a year of CI would: commits, and every fourth commit a build; releases now and then.
  const latest: Record<string, number> = Object.fromEntries(services.map((s) => [s, 0]));
  let builds = 0;
  for (let n = 0; n < YEAR.versions; n++) {
    const s = services[n % services.length] ?? 'svc00';
    const version = (latest[s] ?? 0) + 1;
    latest[s] = version;
    const g = ++generation;
    manifest.services[s]?.versions.push({
      version,
      digest: `sha256:${hex(n * 2 + 1)}`,
      layer: { digest: `sha256:${hex(n * 2 + 2)}`, size: 40_960 + (n % 97) * 512, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
      install: `/srv/${s}`,
      source: 'git',
      revision: hex(n + 7, 40),
      author: `Team ${s} <${s}@teams.invalid>`,
      created: at(g),
      recordedAt: at(g),
      recordedBy: `ci-${n % 7} (runner)`,
      generation: g,
    });
    if (n % 4 !== 3 || builds >= YEAR.builds) continue;
    const image = builds % YEAR.images;
    const list = manifest.builds[`img${image}`] ?? [];
    const vector = Object.fromEntries(members(image).map((m) => [m, Math.max(1, latest[m] ?? 1)]));
    const bg = ++generation;
    builds++;
    list.push({
      id: list.length + 1,
      image: `img${image}`,
      digest: `sha256:${hex(1e9 + builds)}`,
      config: `sha256:${hex(2e9 + builds)}`,
      level: 'heavy',
      vector,
      serviceLayers: Object.fromEntries(members(image).map((m) => [m, `sha256:${hex(3e9 + builds)}`])),
      base: 'rootfs base/busybox',
      created: at(bg),
      builtAt: at(bg),
      builtBy: `ci-${builds % 7} (runner)`,
      status: 'current',
      reproducible: true,
      generation: bg,
    });
    if (builds % 10 !== 0) continue;
    const env = manifest.environments[envs[(builds / 10) % envs.length] ?? 'dev'];
    if (!env) continue;
    const rg = ++generation;
    const id = env.releases.length + 1;
    env.releases.push({
      id,
      env: envs[(builds / 10) % envs.length],
      image: `img${image}`,
      build: list.length,
      digest: `sha256:${hex(1e9 + builds)}`,
      vector,
      level: 'heavy',
      serviceLayers: {},
      at: at(rg),
      by: 'release-bot (ci)',
      overrides: [],
      state: 'released',
      generation: rg,
    });
    env.live[`img${image}`] = id;
    if (builds % 100 === 0) {
      const s0 = members(image)[0] ?? 'svc00';
      env.refusals.push({
        at: at(++generation),
        by: 'release-bot (ci)',
        image: `img${image}`,
        build: Math.max(1, list.length - 3),
        kind: 'stale',
        service: s0,
        have: Math.max(1, (latest[s0] ?? 2) - 1),
        want: latest[s0] ?? 2,
        message: `refusing to release img${image} to the environment: it is stale`,
      });
    }
  }
  manifest.generation = generation;
  await mkdir(join(dir, '.bake'), { recursive: true });
  await mkdir(join(dir, 'recipes'), { recursive: true });
  let yaml = 'environments:\n';
  for (const e of envs) yaml += `  ${e}:\n    image: img0\n    replicas: 2\n    strategy: blue-green\n`;
  yaml += 'services:\n';
  for (const s of services) yaml += `  ${s}:\n    source: services/${s}\n    install: /srv/${s}\n    run: /srv/${s}/run.sh\n`;
  await writeFile(join(dir, 'bake.yaml'), yaml);
  for (let i = 0; i < YEAR.images; i++) {
    await writeFile(
      join(dir, 'recipes', `img${i}.yaml`),
      `image: img${i}\nbake: heavy\nbase: scratch\nservices: [${members(i).join(', ')}]\n`,
    );
  }
  await replaceManifest(dir, manifest as unknown as VersionManifest, { env });
  return { generation, lastVersion: perService };
}
