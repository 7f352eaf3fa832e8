import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildById, currentBuilds, nextId } from '../../src/manifest/lookups.js';
import { emptyManifest, type BuildRecord, type CommittedVersion, type VersionManifest } from '../../src/manifest/model.js';
import { FileStore } from '../../src/store/file-store.js';
import type { ManifestStore } from '../../src/store/manifest-store.js';
import { PostgresBackend } from '../../src/store/postgres-backend.js';
import { RecordStore } from '../../src/store/record-store.js';
import { SqliteBackend } from '../../src/store/sqlite-backend.js';
import { ensureTestPostgres, type ScratchDatabase, scratchDatabase } from '../helpers/postgres.js';
import { requireTools } from '../helpers/require-tools.js';

// The ManifestStore contract, the same cases against every backend: what a command writes is what
// the next one reads, records mutated in place are found, the generation grows by one per write
// and never on a refused one, writers are serialized, and a store round-trips through export.
ensureTestPostgres();
const pg = requireTools('postgres');

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}` as BuildRecord['digest'];

function version(n: number): CommittedVersion {
  return {
    version: n,
    digest: digest(n),
    layer: { digest: digest(1000 + n), size: n, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    install: '/srv/a',
    source: 'directory',
    created: '2026-01-01T00:00:00Z',
    recordedAt: '2026-01-01T00:00:00Z',
    recordedBy: 'test',
    generation: n,
  };
}

function build(id: number, vector: Record<string, number>, status: BuildRecord['status'] = 'current'): BuildRecord {
  return {
    id,
    image: 'shop',
    digest: digest(5000 + id),
    config: digest(9000 + id),
    level: 'heavy',
    vector,
    serviceLayers: {},
    base: 'scratch',
    created: '2026-01-01T00:00:00Z',
    builtAt: '2026-01-01T00:00:00Z',
    builtBy: 'test',
    status,
    reproducible: true,
    generation: id,
  };
}

/** A manifest with `n` versions of `a` and `n` builds of shop, every one but the last stale. */
function history(n: number): VersionManifest {
  const m = emptyManifest();
  m.generation = 2 * n;
  m.services['a'] = { versions: Array.from({ length: n }, (_, i) => version(i + 1)) };
  m.builds['shop'] = Array.from({ length: n }, (_, i) => build(i + 1, { a: i + 1 }, i + 1 === n ? 'current' : 'stale'));
  m.environments['prod'] = { live: { shop: 1 }, releases: [], refusals: [] };
  return m;
}

type Backend = { name: string; skip: boolean; open(): Promise<{ store: ManifestStore; reopen(): ManifestStore; done(): Promise<void> }> };

const backends: Backend[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'bake-store-'));
      const file = join(dir, 'state.db');
      const opened: ManifestStore[] = [];
      const reopen = () => {
        const s = new RecordStore(new SqliteBackend(file), file);
        opened.push(s);
        return s;
      };
      return {
        store: reopen(),
        reopen,
        done: async () => {
          for (const s of opened) await s.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgresql',
    skip: pg.skip,
    async open() {
      const db: ScratchDatabase = await scratchDatabase('contract');
      const opened: ManifestStore[] = [];
      const reopen = () => {
        const s = new RecordStore(new PostgresBackend(db.url), db.name);
        opened.push(s);
        return s;
      };
      return {
        store: reopen(),
        reopen,
        done: async () => {
          for (const s of opened) await s.close();
          await db.drop();
        },
      };
    },
  },
  {
    name: 'json file',
    skip: false,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'bake-store-'));
      const file = join(dir, 'manifest.json');
      return { store: new FileStore(file), reopen: () => new FileStore(file), done: () => rm(dir, { recursive: true, force: true }) };
    },
  },
];

describe.each(backends)('the $name store', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  beforeAll(async () => {
    if (!backend.skip) opened = await backend.open();
  });
  afterAll(async () => opened?.done());

  it.skipIf(backend.skip)('an empty store reads as an empty manifest at generation 0', async () => {
    expect(await opened.store.generation()).toBe(0);
    expect(await opened.store.snapshot()).toEqual(emptyManifest());
  });

  it.skipIf(backend.skip)('imports a history, and exports exactly what it imported', async () => {
    const m = history(300);
    await opened.store.import(m);
    expect(await opened.reopen().snapshot()).toEqual(m);
    await expect(opened.store.import(m)).rejects.toThrow(/already holds records/);
  });

  it.skipIf(backend.skip)('writes appended and in-place changes, one generation per write, nothing for write: false', async () => {
    const store = opened.store;
    const before = await store.generation();
    const seen = await store.update({ purpose: 'test' }, async (m) => {
      const versions = m.services['a']?.versions ?? [];
      const latest = versions.at(-1);
      versions.push({ ...version(versions.length + 1), generation: m.generation + 1 });
      const builds = m.builds['shop'] ?? [];
      for (const b of currentBuilds(m)) b.status = 'stale';
      builds.push(build(nextId(builds), { a: versions.length }));
      (m.environments['prod'] ?? { live: {} }).live['shop'] = 2;
      return { result: latest?.version, write: true };
    });
    expect(seen).toBe(300);
    await store.update({ purpose: 'test' }, async (m) => {
      m.services['a']?.versions.push(version(999));
      return { result: undefined, write: false };
    });
    const after = await opened.reopen().snapshot();
    expect(after.generation).toBe(before + 1);
    expect(after.services['a']?.versions).toHaveLength(301);
    expect(after.services['a']?.versions.at(-1)?.generation).toBe(before + 1);
    expect(after.builds['shop']?.filter((b) => b.status === 'current').map((b) => b.id)).toEqual([301]);
    expect(after.builds['shop']?.[299]?.status).toBe('stale');
    expect(after.environments['prod']?.live).toEqual({ shop: 2 });
  });

  it.skipIf(backend.skip)('a callback that throws writes nothing', async () => {
    const before = await opened.store.snapshot();
    await expect(
      opened.store.update({ purpose: 'test' }, async (m) => {
        m.services['a']?.versions.push(version(1234));
        delete m.builds['shop'];
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await opened.reopen().snapshot()).toEqual(before);
  });

  it.skipIf(backend.skip)('reordering, replacing and removing lists are written whole', async () => {
    await opened.store.update({ purpose: 'test' }, async (m) => {
      m.builds['shop']?.splice(0, 1);
      m.services['b'] = { versions: [version(1)] };
      m.environments['dev'] = { live: {}, releases: [], refusals: [] };
      delete m.environments['prod'];
      return { result: undefined, write: true };
    });
    const after = await opened.reopen().snapshot();
    expect(after.builds['shop']).toHaveLength(300);
    expect(after.builds['shop']?.[0]?.id).toBe(2);
    expect(Object.keys(after.services).sort()).toEqual(['a', 'b']);
    expect(Object.keys(after.environments)).toEqual(['dev']);
    const found = await opened.store.view((m) => buildById(m.builds['shop'] ?? [], 301)?.vector);
    expect(found).toEqual({ a: 301 });
  });

  it.skipIf(backend.skip)('serializes writers: 24 concurrent increments through 3 connections lose none', async () => {
    const stores = [opened.store, opened.reopen(), opened.reopen()];
    const before = await opened.store.generation();
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (stores[i % 3] as ManifestStore).update({ purpose: 'test' }, async (m) => {
          const versions = (m.services['c'] ??= { versions: [] }).versions;
          // Yield inside the transaction: a writer that is not serialized would interleave here.
          await new Promise((resolve) => setTimeout(resolve, 1));
          versions.push({ ...version(versions.length + 1), generation: m.generation + 1 });
          return { result: undefined, write: true };
        }),
      ),
    );
    const after = await opened.reopen().snapshot();
    expect(after.generation).toBe(before + 24);
    expect(after.services['c']?.versions.map((v) => v.version)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(new Set(after.services['c']?.versions.map((v) => v.generation)).size).toBe(24);
  });

  it.skipIf(backend.skip)(
    'writes arriving together: each sees the ones before it, one that throws takes none of the others with it',
    async () => {
      const before = await opened.store.generation();
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          opened.store.update({ purpose: 'test' }, async (m) => {
            const versions = (m.services['d'] ??= { versions: [] }).versions;
            if (i % 4 === 3) {
              versions.push(version(777));
              throw new Error(`job ${i} refused`);
            }
            const indexed = currentBuilds(m).length;
            versions.push({ ...version(versions.length + 1), generation: m.generation + 1 });
            m.builds['shop']?.push(build(nextId(m.builds['shop'] ?? []), { a: 1 }));
            return { result: { seen: versions.length, indexed }, write: true };
          }),
        ),
      );
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([
        'Error: job 3 refused',
        'Error: job 7 refused',
        'Error: job 11 refused',
      ]);
      expect(ok.map((r) => r.seen).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // The builds each write added are current: the index lookup finds those not yet in the database too.
      expect(new Set(ok.map((r) => r.indexed)).size).toBe(9);
      const after = await opened.reopen().snapshot();
      expect(after.generation).toBe(before + 9);
      expect(after.services['d']?.versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    },
  );

  it.skipIf(backend.skip)(
    'a store that read before sees what another connection wrote since, and what a refused write left alone',
    async () => {
      const reader = opened.reopen();
      const writer = opened.reopen();
      const latest = (m: VersionManifest) => m.services['e']?.versions.at(-1)?.version;
      await writer.update({ purpose: 'test' }, async (m) => {
        (m.services['e'] ??= { versions: [] }).versions.push(version(1));
        return { result: undefined, write: true };
      });
      expect(await reader.view(latest)).toBe(1);
      expect(await reader.view(latest)).toBe(1);
      await writer.update({ purpose: 'test' }, async (m) => {
        m.services['e']?.versions.push(version(2));
        return { result: undefined, write: true };
      });
      expect(await reader.view(latest)).toBe(2);
      // A write that throws after changing its manifest leaves nothing behind for the next read.
      await expect(
        reader.update({ purpose: 'test' }, async (m) => {
          m.services['e']?.versions.push(version(3));
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await reader.view(latest)).toBe(2);
      expect(await writer.view(latest)).toBe(2);
    },
  );
});
