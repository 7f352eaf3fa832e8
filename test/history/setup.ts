import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VersionManifest } from '../../src/manifest/model.js';
import { BAKE_BIN, bake, type BakeRun } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { freePort } from '../helpers/registry.js';
import { gitRepo, tempDir, type Repo } from '../helpers/repo.js';
import { centralRepo, type Central, type TeamClone } from '../helpers/teams.js';

/** How teams reach the one manifest: a shared file system (each clone's `.bake` is the same directory), or `bake serve`. */
export type Mode = 'local' | 'service';
export const MODES: Mode[] = ['local', 'service'];

const TOKEN = 'h'.repeat(32);

export interface Team extends TeamClone {
  /** Runs `bake --json …args` as this team's CI job would, in its own checkout; the actor is `ci-<team>`. */
  bake(args: string[]): Promise<BakeRun>;
  /**
   * Starts `bake --json …args` like `bake`, and resolves `waiting` once it reports waiting for the
   * manifest lock on stderr (as a CI log shows it), `done` when it ends.
   */
  start(args: string[]): { waiting: Promise<void>; done: Promise<BakeRun> };
  /** Writes files (relative to the checkout) and commits them; resolves to the new HEAD. */
  change(files: Record<string, string>, message?: string): Promise<string>;
}

export interface Teams {
  mode: Mode;
  central: Central;
  /** The one manifest every team's commands read and write. */
  manifest(): Promise<VersionManifest>;
  team(name: string): Promise<Team>;
  /** The directory of the manifest's workspace (the service host's checkout, or the shared state's owner). */
  stateDir: string;
  /** What the processes that open the manifest's store get in their environment (`{ BAKE_DATABASE_URL }`, or nothing: the default). */
  storeEnv: Record<string, string>;
  cleanup(): Promise<void>;
}

/**
 * A workspace repository with plain services (no build commands) and one recipe over all of them
 * on a scratch base, so a bake takes a fraction of a second. `.bake` is ignored, as a team's
 * repository would ignore it.
 */
export async function historySeed(services: string[]): Promise<Repo> {
  const files: Record<string, string> = { '.gitignore': '.bake\n.tokens\n' };
  let yaml = 'services:\n';
  for (const s of services) {
    files[`services/${s}/VERSION`] = `${s} 1\n`;
    yaml += `  ${s}:\n    source: services/${s}\n    install: /srv/${s}\n    run: /srv/${s}/run.sh\n`;
  }
  files['bake.yaml'] = yaml;
  files['recipes/shop.yaml'] = `image: shop\nbake: heavy\nbase: scratch\nservices: [${services.join(', ')}]\n`;
  return gitRepo(files);
}

/**
 * Teams with separate clones of one central repository, sharing one manifest: in `local` mode
 * through a shared directory that every clone's `.bake` points at (runners on one file system);
 * in `service` mode through `bake serve` started as its own process on a host checkout that
 * stays at the seed commit (so anything newer can only come from the callers). `storeEnv` picks the
 * manifest's store (test/helpers/stores.ts): the teams' processes get it in local mode, the service in service mode.
 */
export async function teams(mode: Mode, services: string[] = ['a', 'b'], storeEnv: Record<string, string> = {}): Promise<Teams> {
  const seed = await historySeed(services);
  const central = await centralRepo(seed);
  await seed.cleanup();
  const state = await tempDir('history-state');
  let server: ChildProcess | undefined;
  let url = '';
  let stateDir = state.dir;
  if (mode === 'service') {
    const host = await central.clone('host');
    stateDir = host.dir;
    await writeFile(join(host.dir, '.tokens'), `write ${TOKEN}\n`, { mode: 0o600 });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, [BAKE_BIN, '-C', host.dir, 'serve', '--tokens', join(host.dir, '.tokens'), '--port', String(port)], {
      env: { ...process.env, ...storeEnv },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.once('data', () => resolve());
      server?.once('exit', (code) => reject(new Error(`bake serve exited ${code}`)));
    });
  } else {
    await mkdir(join(state.dir, '.bake'), { recursive: true });
  }
  return {
    mode,
    central,
    stateDir,
    storeEnv,
    manifest: () => manifestOf(stateDir, storeEnv),
    async team(name) {
      const clone = await central.clone(name);
      if (mode === 'local') await symlink(join(state.dir, '.bake'), join(clone.dir, '.bake'));
      const env: Record<string, string> = {
        BAKE_ACTOR: `ci-${name}`,
        ...(mode === 'service' ? { BAKE_SERVICE: url, BAKE_SERVICE_TOKEN: TOKEN } : storeEnv),
      };
      return {
        ...clone,
        bake: (args) => bake(['--json', ...args], { cwd: clone.dir, env }),
        start: (args) => startBake(['--json', ...args], clone.dir, env),
        async change(files, message = `${name} changes ${Object.keys(files).join(', ')}`) {
          for (const [path, content] of Object.entries(files)) {
            await mkdir(join(clone.dir, path, '..'), { recursive: true });
            await writeFile(join(clone.dir, path), content);
          }
          return clone.commitAll(message);
        },
      };
    },
    async cleanup() {
      server?.kill('SIGKILL');
      await central.cleanup();
      await state.cleanup();
    },
  };
}

function startBake(args: string[], cwd: string, env: Record<string, string>): { waiting: Promise<void>; done: Promise<BakeRun> } {
  const child = spawn(process.execPath, [BAKE_BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let waited: () => void = () => undefined;
  const waiting = new Promise<void>((resolve) => (waited = resolve));
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => {
    stderr += d;
    if (stderr.includes('waiting for the manifest lock')) waited();
  });
  const done = new Promise<BakeRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      waited();
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ exitCode: code ?? 1, stdout, stderr, json });
    });
  });
  return { waiting, done };
}
