import { spawn } from 'node:child_process';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { bake } from './helpers/bake-cli.js';
import { gitRepo, shopRepo, tempDir, type Repo } from './helpers/repo.js';
import { requireTools } from './helpers/require-tools.js';

const tools = requireTools('git', 'busybox');

describe.skipIf(tools.skip)('the shop fixture', () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await shopRepo();
  });
  afterAll(() => repo?.cleanup());

  it('is a git repository with a HEAD and a clean status', async () => {
    expect(await repo.git('rev-parse', 'HEAD')).toMatch(/^[0-9a-f]{40}$/);
    expect(await repo.git('branch', '--show-current')).toBe('main');
    expect(await repo.git('status', '--porcelain', '--ignored=no')).toBe('');
    expect(await repo.git('log', '-1', '--format=%an <%ae> %aI %cI')).toBe(
      'Shop Team <team@shop.invalid> 2026-01-01T00:00:00+00:00 2026-01-01T00:00:00+00:00',
    );
  });

  it('gives two fresh copies the same HEAD commit', async () => {
    const other = await shopRepo();
    try {
      expect(await other.git('rev-parse', 'HEAD')).toBe(await repo.git('rev-parse', 'HEAD'));
    } finally {
      await other.cleanup();
    }
  });

  it('commits scripts as executable, links as links, and leaves base/ out', async () => {
    const entries = new Map(
      (await repo.git('ls-files', '-s')).split('\n').map((line) => {
        const [mode = '', , , path = ''] = line.split(/\s+/);
        return [path, mode] as const;
      }),
    );
    for (const name of ['catalog', 'cart', 'web']) {
      expect(entries.get(`services/${name}/run.sh`)).toBe('100755');
      expect(entries.get(`services/${name}/VERSION`)).toBe('100644');
    }
    expect(entries.get('services/web/static/home.html')).toBe('120000');
    expect(entries.get('services/catalog/catalog.json')).toBe('120000');
    expect(entries.get('services/cart/bin/cart-total')).toBe('120000');
    expect([...entries.keys()].filter((path) => path.startsWith('base/') || path.startsWith('.bake/'))).toEqual([]);
    expect(await readlink(join(repo.dir, 'services', 'web', 'static', 'home.html'))).toBe('index.html');
  });

  it('declares every service the recipe bakes', async () => {
    const workspace = parse(await readFile(join(repo.dir, 'bake.yaml'), 'utf8'));
    const recipe = parse(await readFile(join(repo.dir, 'recipes', 'shop.yaml'), 'utf8'));
    expect(recipe).toMatchObject({ image: 'shop', bake: 'heavy', base: { rootfs: 'base/busybox' } });
    expect(Object.keys(workspace.services)).toEqual(expect.arrayContaining(recipe.services));
    expect(recipe.services).toEqual(['catalog', 'cart', 'web']);
  });

  it('has a runnable busybox base', async () => {
    const rootfs = join(repo.dir, 'base', 'busybox');
    const { stdout } = await execa(join(rootfs, 'bin', 'busybox'), ['sh', '-c', 'echo hi']);
    expect(stdout).toBe('hi');
    expect(await readlink(join(rootfs, 'bin', 'sh'))).toBe('busybox');
    expect((await lstat(join(rootfs, 'tmp'))).mode & 0o7777).toBe(0o1777);
    expect((await lstat(join(rootfs, 'bin', 'busybox'))).mode & 0o7777).toBe(0o755);
    expect(await readFile(join(rootfs, 'etc', 'passwd'), 'utf8')).toMatch(/^root:x:0:0:.*\nnobody:x:65534:/);
  });

  // Each service runs on the host with nothing but the base's busybox applets on PATH.
  it.each([
    { name: 'catalog', env: {}, version: 'catalog 1' },
    { name: 'cart', env: {}, version: 'cart 1' },
    { name: 'web', env: {}, version: 'web 1' },
    { name: 'catalog', env: { BAKE_SERVICE_VERSION: '7' }, version: 'catalog 7' },
  ])('$name run.sh answers /healthz and /version ($version)', async ({ name, env, version }) => {
    const www = await tempDir(`www-${name}`);
    const port = await freePort();
    const rootfsBin = join(repo.dir, 'base', 'busybox', 'bin');
    const child = spawn(join(rootfsBin, 'sh'), [join(repo.dir, 'services', name, 'run.sh')], {
      env: { PATH: rootfsBin, PORT: String(port), BIND: '127.0.0.1', WWW_ROOT: www.dir, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(
        `${base}/healthz`,
        () => child.exitCode !== null,
        () => stderr,
      );
      expect(await (await fetch(`${base}/healthz`)).text()).toBe('ok\n');
      expect(await (await fetch(`${base}/version`)).text()).toBe(`${version}\n`);
      expect((await fetch(`${base}/files/VERSION`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await www.cleanup();
    }
  });
});

describe.skipIf(tools.skip)('the helpers', () => {
  it('gitRepo writes text, modes and symlinks, and commits them', async () => {
    const repo = await gitRepo({ 'a.txt': 'a\n', 'bin/run': { content: '#!/bin/sh\n', mode: 0o755 }, link: { symlink: 'a.txt' } });
    try {
      expect(await repo.git('ls-files', '-s')).toMatch(/^100644 \S+ 0\ta\.txt\n100755 \S+ 0\tbin\/run\n120000 \S+ 0\tlink$/);
      const first = await repo.git('rev-parse', 'HEAD');
      const second = await repo.commitAll('again', { date: '2026-01-02T00:00:00Z' });
      expect(second).not.toBe(first);
      expect(await repo.git('log', '-1', '--format=%cI')).toBe('2026-01-02T00:00:00+00:00');
    } finally {
      await repo.cleanup();
    }
  });

  it('requireTools throws under CI=true and skips otherwise', () => {
    const ci = process.env['CI'];
    try {
      process.env['CI'] = 'true';
      expect(() => requireTools('git', 'bake-no-such-tool')).toThrow(/bake-no-such-tool/);
      process.env['CI'] = 'false';
      expect(requireTools('git', 'bake-no-such-tool')).toMatchObject({ skip: true, reason: expect.stringContaining('bake-no-such-tool') });
      expect(requireTools('git')).toEqual({ skip: false });
    } finally {
      if (ci === undefined) delete process.env['CI'];
      else process.env['CI'] = ci;
    }
  });

  it('bake() reports a failing CLI run instead of throwing', async () => {
    const run = await bake(['no-such-command', '--json']);
    expect(run.exitCode).not.toBe(0);
    expect(typeof run.stderr).toBe('string');
  });
});

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `url` until it answers 200; fails early, with the server's stderr, if it died. */
async function waitFor(url: string, died: () => boolean, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (died()) throw new Error(`the service exited before answering ${url}: ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`no answer from ${url} within 10 s: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
