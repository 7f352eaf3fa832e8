import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bake, BAKE_BIN, type BakeRun } from '../helpers/bake-cli.js';
import { gitRepo, tempDir, type Repo } from '../helpers/repo.js';
import { centralRepo, type Central, type TeamClone } from '../helpers/teams.js';

/**
 * The revocation tests' world: a bare central repository holding a shop of three services and two
 * images that share `catalog` (shop: catalog + cart, admin: catalog + web), cloned by an ops team
 * (whose clone is the workspace holding the manifest, or the one `bake serve` serves) and by the
 * catalog team. bake.yaml's revoked hook writes its standard input to $REVOKE_HOOK_OUT.
 */
export interface ShopTeams {
  central: Central;
  ops: TeamClone;
  catalog: TeamClone;
  /** Where the hook writes the document it received. */
  hookOut: string;
  cleanup(): Promise<void>;
}

export const BAKE_YAML = `services:
  catalog: {source: services/catalog, install: /srv/catalog}
  cart: {source: services/cart, install: /srv/cart}
  web: {source: services/web, install: /srv/web}
environments:
  prod: {image: shop}
  staging: {image: admin}
hooks:
  revoked: cat > "$REVOKE_HOOK_OUT"
`;

/** The shop in a central repository, an ops clone and a catalog-team clone. */
export async function shopTeams(bakeYaml = BAKE_YAML): Promise<ShopTeams> {
  const seed: Repo = await gitRepo({
    'bake.yaml': bakeYaml,
    'recipes/shop.yaml': 'image: shop\nbase: scratch\nservices: [catalog, cart]\n',
    'recipes/admin.yaml': 'image: admin\nbase: scratch\nservices: [catalog, web]\n',
    'services/catalog/search.txt': 'search v1\n',
    'services/cart/cart.txt': 'cart v1\n',
    'services/web/index.html': 'web v1\n',
    '.gitignore': '.bake/\n',
  });
  const central = await centralRepo(seed);
  await seed.cleanup();
  const ops = await central.clone('ops');
  const catalog = await central.clone('catalog-team');
  const out = await tempDir('revoke-hook');
  return {
    central,
    ops,
    catalog,
    hookOut: join(out.dir, 'hook.json'),
    async cleanup() {
      await central.cleanup();
      await out.cleanup();
    },
  };
}

/** The catalog team changes search.txt, commits and pushes to the central repository. */
export async function changeCatalog(teams: ShopTeams, content: string, date: string): Promise<void> {
  await teams.catalog.pull();
  await writeFile(join(teams.catalog.dir, 'services', 'catalog', 'search.txt'), content);
  await teams.catalog.commitAll(`catalog: ${content.trim()}`, { date });
  if (!(await teams.catalog.push())) throw new Error('push to the central repository was rejected');
}

/** The hook's last document. */
export async function hookDocument(teams: ShopTeams): Promise<any> {
  return JSON.parse(await readFile(teams.hookOut, 'utf8'));
}

/** Runs the bake CLI in `dir` with `env`, always asking for --json. */
export function bakeIn(dir: string, env: Record<string, string>): (args: string[]) => Promise<BakeRun> {
  return (args) => bake(['--json', ...args], { cwd: dir, env });
}

export const WRITE_TOKEN = 'w'.repeat(40);
export const READ_TOKEN = 'r'.repeat(40);

/** `bake serve` over `workspace` as its own process on a free port, with a private token file. */
export async function serveWorkspace(
  workspace: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const dir = await tempDir('revoke-tokens');
  const tokens = join(dir.dir, 'tokens');
  await writeFile(tokens, `write ${WRITE_TOKEN}\nread ${READ_TOKEN}\n`, { mode: 0o600 });
  const child = spawn(process.execPath, [BAKE_BIN, '-C', workspace, 'serve', '--tokens', tokens, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0] ?? '') as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`bake serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await dir.cleanup();
    },
  };
}
