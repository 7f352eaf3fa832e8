import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { cloneRepo, gitRepo, type FileSpec, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');
const names = Array.from({ length: 10 }, (_, i) => `svc${i}`);

describe.skipIf(tools.skip)('layer reuse', () => {
  let repo: Repo;
  afterAll(() => repo?.cleanup());

  it('changing one of ten services repacks one layer and reuses the other nine by digest', async () => {
    const files: Record<string, FileSpec> = {
      'bake.yaml': `services:\n${names.map((n) => `  ${n}: {source: services/${n}, install: /srv/${n}, run: /srv/${n}/run.sh}`).join('\n')}\n`,
      'recipes/ten.yaml': `bake: heavy\nbase: scratch\nservices: [${names.join(', ')}]\n`,
    };
    for (const n of names) files[`services/${n}/run.sh`] = { content: `#!/bin/sh\necho ${n}\n`, mode: 0o755 };
    repo = await gitRepo(files);
    const ws = ['-C', repo.dir, '--json'];
    expect((await bake([...ws, 'commit', '--all'])).exitCode).toBe(0);
    const first = (await bake([...ws, 'build', 'ten'])).json.builds[0];
    const blobs = join(repo.dir, '.bake', 'store', 'blobs', 'sha256');
    const before = JSON.parse(await readFile(join(blobs, first.digest.slice(7)), 'utf8'));
    const times = new Map<string, number>();
    for (const l of before.layers) times.set(l.digest, (await stat(join(blobs, l.digest.slice(7)))).mtimeMs);

    await appendFile(join(repo.dir, 'services', 'svc4', 'run.sh'), 'echo changed\n');
    await writeFile(join(repo.dir, 'services', 'svc4', 'NEW'), 'new file\n');
    await repo.commitAll('change svc4', '2026-01-02T00:00:00Z');
    const commits = (await bake([...ws, 'commit', '--all'])).json.commits;
    expect(commits.filter((c: { created: boolean }) => c.created).map((c: { service: string }) => c.service)).toEqual(['svc4']);

    const second = (await bake([...ws, 'build', 'ten'])).json.builds[0];
    expect(second.vector).toEqual({ ...first.vector, svc4: 2 });
    const after = JSON.parse(await readFile(join(blobs, second.digest.slice(7)), 'utf8'));
    const changed = after.layers.map((l: { digest: string }, i: number) => l.digest !== before.layers[i].digest);
    // Layer 4 is svc4's; the last layer is the supervisor, which records the new vector.
    expect(changed).toEqual([false, false, false, false, true, false, false, false, false, false, true]);
    for (const l of after.layers.slice(0, 10)) {
      if (times.has(l.digest)) expect((await stat(join(blobs, l.digest.slice(7)))).mtimeMs, 'never rewritten').toBe(times.get(l.digest));
    }
  });

  it("a changed service's unchanged files come from its previous layer in the next process, byte for byte what a fresh clone bakes", async () => {
    const big = await gitRepo({
      'bake.yaml': 'services:\n  data: {source: services/data, install: /srv/data}\n',
      'recipes/data.yaml': 'bake: heavy\nbase: scratch\nservices: [data]\n',
      'services/data/notes.txt': 'one\n',
    });
    try {
      await writeFile(join(big.dir, 'services', 'data', 'blob.bin'), randomBytes(2 << 20));
      await big.commitAll('data', '2026-01-02T00:00:00Z');
      const ws = ['-C', big.dir, '--json'];
      const first = await bake([...ws, 'build', '--commit', 'data']);
      expect(first.exitCode, first.stderr).toBe(0);
      const index = join(big.dir, '.bake', 'work', 'layer-bodies');
      expect((await readdir(index)).filter((f) => f.endsWith('.json'))).toHaveLength(1);

      await appendFile(join(big.dir, 'services', 'data', 'notes.txt'), 'two\n');
      await big.commitAll('notes', '2026-01-03T00:00:00Z');
      const second = await bake([...ws, 'build', '--commit', 'data']);
      expect(second.exitCode, second.stderr).toBe(0);

      const clone = await cloneRepo(big.dir);
      try {
        const fresh = await bake(['-C', clone.dir, '--json', 'build', '--commit', 'data']);
        expect(fresh.exitCode, fresh.stderr).toBe(0);
        expect(fresh.json.builds[0].digest).toBe(second.json.builds[0].digest);
      } finally {
        await clone.cleanup();
      }
    } finally {
      await big.cleanup();
    }
  });
});
