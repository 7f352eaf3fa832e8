import { chmod, copyFile, cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { BakeError } from '../util/errors.js';
import { run } from '../util/exec.js';
import type { AppContext } from './context.js';
import { bakeEntry } from './environment-runtime.js';

/**
 * The image of the in-cluster router, baked by bake itself: an internal workspace under
 * `.bake/router-image/` (a git repository of its own) whose recipe has a base `{rootfs: …}` made
 * here — the host's static busybox, the host's `node` and the shared libraries `ldd` lists for it,
 * each at its own path — and one service, `router`: the compiled router modules (src/router/ and
 * what they import, from this package's dist/, plus semver for toggle rules) and a run.sh. Built
 * and pushed by digest with the ordinary `bake build --commit --push`. Returns `registry@sha256:…`.
 * Throws BakeError when busybox or node's libraries cannot be found, or the build fails.
 */
export async function bakeRouterImage(ctx: AppContext, registry: string): Promise<string> {
  const dir = join(ctx.workspace, '.bake', 'router-image');
  const git = async (...args: string[]) => {
    const done = await run('git', ['-c', 'user.name=bake', '-c', 'user.email=bake@localhost', ...args], {
      cwd: dir,
      env: { GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z' },
    });
    if (done.exitCode !== 0) throw new BakeError(`git ${args.join(' ')} in ${dir}: ${done.stderr.trim()}`);
    return done.stdout;
  };
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, '.git'))) await git('init', '-q', '-b', 'main');
  await makeRootfs(join(dir, 'base', 'rootfs'));
  await writeRouterService(join(dir, 'services', 'router'));
  await mkdir(join(dir, 'recipes'), { recursive: true });
  await writeFile(join(dir, '.gitignore'), 'base/\n.bake/\n');
  await writeFile(
    join(dir, 'bake.yaml'),
    'environments: {}\nservices:\n  router:\n    source: services/router\n    install: /srv/router\n    run: /srv/router/run.sh\n',
  );
  await writeFile(
    join(dir, 'recipes', 'bake-router.yaml'),
    'image: bake-router\nbake: heavy\nbase: {rootfs: base/rootfs}\nservices: [router]\n',
  );
  await git('add', '-A');
  if ((await git('status', '--porcelain')).trim() !== '') await git('commit', '-q', '-m', 'the router of this bake');
  const { build } = await import('./build.js');
  const built = await build({ ...ctx, workspace: dir }, { images: ['bake-router'], commit: true, push: registry });
  const pushed = built.builds[0]?.push;
  if (!pushed) throw new BakeError(`bake-router was built but not pushed to ${registry}`);
  return pushed.reference;
}

/** busybox (every applet a link to it), node at its host path, and each library `ldd` names, at its path. */
async function makeRootfs(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new BakeError('the router image needs the host busybox (apt-get install -y busybox-static)');
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile(busybox, join(root, 'bin', 'busybox'));
  const applets = (await run(busybox, ['--list'])).stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  for (const applet of applets) await symlink('busybox', join(root, 'bin', applet));
  for (const d of ['tmp', 'etc', 'usr/local/bin']) await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  const node = realpathSync(process.execPath);
  await copyInto(root, node, '/usr/local/bin/node');
  // ldd prints `name => /path (addr)` and the loader as `/lib64/ld-linux-x86-64.so.2 (addr)`; vdso has no file.
  const ldd = await run('ldd', [node]);
  if (ldd.exitCode !== 0) throw new BakeError(`ldd ${node} failed: ${ldd.stderr.trim()}`);
  for (const line of ldd.stdout.split('\n')) {
    const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)/.exec(line)?.[1];
    if (path) await copyInto(root, path, path);
  }
}

/** Copies the file behind `from` (symlinks followed) to `to` inside `root`, keeping its mode. */
async function copyInto(root: string, from: string, to: string): Promise<void> {
  const target = join(root, to);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(realpathSync(from), target);
  await chmod(target, 0o755);
}

/** The router service's files: run.sh, package.json (ES modules) and the compiled modules replica-main.js needs. */
async function writeRouterService(dir: string): Promise<void> {
  const dist = resolve(dirname(bakeEntry()), '..', 'dist');
  const entry = join(dist, 'router', 'replica-main.js');
  if (!existsSync(entry)) throw new BakeError(`the router image needs the compiled router (${entry}); run npm run build`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const file of await importClosure(entry)) {
    const to = join(dir, 'app', relative(dist, file));
    await mkdir(dirname(to), { recursive: true });
    await copyFile(file, to);
  }
  const semver = join(dist, '..', 'node_modules', 'semver');
  if (existsSync(semver)) await cp(semver, join(dir, 'app', 'node_modules', 'semver'), { recursive: true, dereference: true });
  await writeFile(join(dir, 'app', 'package.json'), '{"type": "module"}\n');
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\nexec /usr/local/bin/node /srv/router/app/router/replica-main.js\n', { mode: 0o755 });
}

/** Every compiled module `entry` imports by relative path, transitively (bare `node:` imports need no file). */
async function importClosure(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) queue.push(resolve(dirname(file), m[1] as string));
  }
  return [...seen];
}
