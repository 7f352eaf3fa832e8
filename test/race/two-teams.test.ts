import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { manifestOf } from '../helpers/manifest.js';
import { type OpenStore, stores } from '../helpers/stores.js';
import { raceWorkspace } from './race-workspace.js';

const exec = promisify(execFile);
const BAKE = join(__dirname, '..', '..', 'bin', 'bake.js');
const SEEDS = 12;

interface Step {
  args: string[];
  code: number;
  json: any;
}

/** Runs the real CLI as its own process, on the store of the test (`env`). */
async function bake(ws: string, args: string[], env: Record<string, string>): Promise<Step> {
  try {
    const { stdout } = await exec(process.execPath, [BAKE, '-C', ws, '--json', ...args], { env: { ...process.env, ...env } });
    return { args, code: 0, json: JSON.parse(stdout) };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { args, code: e.code, json: e.stdout ? JSON.parse(e.stdout) : undefined };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

/**
 * One team: commit a new version of its own service, bake the shared image, release it. Each
 * step is a separate `bake` process and the pauses between them come from the seed, so the two
 * teams interleave differently in every schedule.
 */
async function team(ws: string, service: string, random: () => number, build: string[], env: Record<string, string>): Promise<Step[]> {
  const steps: Step[] = [];
  const from = join(ws, '.work', `${service}-${random().toString(36).slice(2)}`);
  await mkdir(from, { recursive: true });
  await writeFile(join(from, 'VERSION'), `${service} ${from}\n`);
  await sleep(random() * 150);
  steps.push(await bake(ws, ['commit', service, '--from', from], env));
  await sleep(random() * 150);
  steps.push(await bake(ws, ['build', 'shop', ...build], env));
  await sleep(random() * 150);
  steps.push(await bake(ws, ['release', 'shop', '--env', 'prod'], env));
  return steps;
}

describe.each(stores('sqlite', 'postgres'))('two teams racing on one multi-service image ($kind store)', (store) => {
  let db: OpenStore | undefined;
  afterEach(async () => {
    await db?.cleanup();
    db = undefined;
  });

  for (let seed = 1; seed <= SEEDS; seed++) {
    // Odd seeds rebake at record time (the default); even seeds never rebake and serialize bakes.
    const build = seed % 2 === 1 ? [] : ['--serialize', '--max-rebakes', '0'];
    it.skipIf(store.skip)(
      `schedule ${seed} (${build.join(' ') || 'default'}): both latest versions run, or the race was refused by name`,
      async () => {
        db = await store.open();
        const { env } = db;
        const ws = await raceWorkspace(['s1', 's2'], { shop: ['s1', 's2'] });
        try {
          const setup = [
            await bake(ws.dir, ['commit', '--all'], env),
            await bake(ws.dir, ['build', 'shop'], env),
            await bake(ws.dir, ['release', 'shop', '--env', 'prod'], env),
          ];
          expect(setup.map((s) => s.code)).toEqual([0, 0, 0]);
          const [one, two] = await Promise.all([
            team(ws.dir, 's1', rng(seed * 31 + 1), build, env),
            team(ws.dir, 's2', rng(seed * 17 + 3), build, env),
          ]);
          const steps = [...(one ?? []), ...(two ?? [])];
          for (const step of steps) expect([0, 3], JSON.stringify(step)).toContain(step.code);

          db.assertUsedBy(ws.dir);
          const manifest = await manifestOf(ws.dir, env);
          const prod = manifest.environments['prod'];
          const liveId = prod?.live['shop'];
          const live = prod?.releases.find((r) => r.id === liveId);
          expect(live).toBeDefined();
          const refusals = steps.filter((s) => s.code === 3).map((s) => s.json.error);
          for (const service of ['s1', 's2']) {
            const latest = manifest.services[service]?.versions.at(-1)?.version;
            if (live?.vector[service] === latest) continue;
            // Not running the latest: only allowed if a refusal named this very service.
            expect(
              refusals.map((r) => r.service),
              `prod lacks ${service} v${latest} silently`,
            ).toContain(service);
          }
          for (const r of refusals) {
            expect(['stale', 'regression', 'conflict']).toContain(r.kind);
            expect(typeof r.have).toBe('number');
            expect(typeof r.want).toBe('number');
            expect(r.committedBy).toBeTruthy();
            expect(r.committedAt).toBeTruthy();
          }
          // With rebakes on and no refusal, both teams' changes must be live.
          if (build.length === 0 && refusals.length === 0) {
            expect(live?.vector).toEqual({ s1: 2, s2: 2 });
          }
        } finally {
          await ws.cleanup();
        }
      },
    );
  }
});
