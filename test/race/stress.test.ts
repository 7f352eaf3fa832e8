import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionManifest } from '../../src/manifest/model.js';
import { manifestOf } from '../helpers/manifest.js';
import { type OpenStore, stores } from '../helpers/stores.js';
import { raceWorkspace } from './race-workspace.js';

const PROCESSES = 16;
const OPS = 8;
const services = ['s1', 's2', 's3', 's4'];
const images = ['front', 'back'];

interface Line {
  kind: string;
  code: number;
  writes: number;
  service?: string;
  version?: number;
  digest?: string;
  error?: { kind: string };
}

function runWorker(ws: string, id: number, env: Record<string, string>): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, 'worker.mjs'), ws, String(id), String(OPS), String(id * 7919 + 1), services.join(','), images.join(',')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker ${id} exited ${code}: ${err}`));
      else
        resolve(
          out
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Line),
        );
    });
  });
}

describe.each(stores('sqlite', 'postgres'))(
  `${PROCESSES} processes committing, building and releasing on one workspace ($kind store)`,
  (store) => {
    let ws: { dir: string; cleanup(): Promise<void> };
    let db: OpenStore;
    let lines: Line[];
    let manifest: VersionManifest;

    beforeAll(async () => {
      if (store.skip) return;
      db = await store.open();
      ws = await raceWorkspace(services, { front: ['s1', 's2', 's3'], back: ['s3', 's4'] });
      const results = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => runWorker(ws.dir, i, db.env)));
      lines = results.flat();
      db.assertUsedBy(ws.dir);
      manifest = await manifestOf(ws.dir, db.env);
    }, 300_000);
    afterAll(async () => {
      await ws?.cleanup();
      await db?.cleanup();
    });

    it.skipIf(store.skip)('ran every operation, each ending ok, refused (3) or "nothing built yet" (2)', () => {
      expect(lines).toHaveLength(PROCESSES * OPS);
      for (const line of lines) expect([0, 2, 3]).toContain(line.code);
      expect(lines.filter((l) => l.kind === 'commit' && l.code === 0).length).toBeGreaterThan(0);
    });

    it.skipIf(store.skip)('counts every write exactly once in the generation', () => {
      const writes = lines.reduce((sum, l) => sum + l.writes, 0);
      expect(manifest.generation).toBe(writes);
    });

    it.skipIf(store.skip)('lost no commit', () => {
      const commits = lines.filter((l) => l.kind === 'commit' && l.writes === 1);
      for (const c of commits) {
        const recorded = manifest.services[c.service ?? '']?.versions[(c.version ?? 0) - 1];
        expect(recorded?.digest, `${c.service} v${c.version}`).toBe(c.digest);
      }
      const total = Object.values(manifest.services).reduce((n, s) => n + s.versions.length, 0);
      expect(total).toBe(commits.length);
      for (const history of Object.values(manifest.services)) {
        expect(history.versions.map((v) => v.version)).toEqual(history.versions.map((_, i) => i + 1));
      }
    });

    it.skipIf(store.skip)('let no release through that violates the gate', () => {
      const env = manifest.environments['stress'];
      const releases = env?.releases ?? [];
      const live = new Map<string, Record<string, number>>();
      for (const release of releases) {
        // Not stale when recorded: no version of its services committed earlier is newer.
        for (const [service, have] of Object.entries(release.vector)) {
          const newer = manifest.services[service]?.versions.filter((v) => v.generation < release.generation && v.version > have) ?? [];
          expect(newer, `release ${release.id} holds ${service} v${have}`).toEqual([]);
        }
        // Never backwards from what the environment ran just before (all its live images).
        for (const running of live.values()) {
          for (const [service, have] of Object.entries(running)) {
            const next = release.vector[service];
            if (next !== undefined) expect(next, `release ${release.id} ${service}`).toBeGreaterThanOrEqual(have);
          }
        }
        live.set(release.image, release.vector);
      }
      const refusals = lines.filter((l) => l.kind === 'release' && l.code === 3);
      expect(env?.refusals.length ?? 0).toBe(refusals.length);
    });
  },
);
