import { appendFile, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { ensureTestPostgres, scratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

process.env['SOURCE_DATE_EPOCH'] = '1700001717';
ensureTestPostgres();
const tools = requireTools('git', 'busybox', 'docker', 'postgres');

// Expand and contract against a real PostgreSQL. The orders service (busybox httpd) cannot speak
// PostgreSQL itself, so each version says at /needs which columns of the orders table its code
// reads, and the load client runs exactly that query for every response it gets: a version served
// while its columns are missing is a failed request. bake runs the migrations with `psql` on the
// host (schema.migrate), with the database URL from its environment.
//   v1 creates the table (1, expand); v2 adds email and reads it (2, expand); v3 drops name (3, contract).
const RUN_SH = `#!/bin/sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=\${WWW_ROOT:-/tmp/www-orders}
mkdir -p "$root"
echo ok > "$root/healthz"
echo "orders \${BAKE_SERVICE_VERSION:-?}" > "$root/version"
cp "$here/needs" "$root/needs"
exec busybox httpd -f -p "\${BIND:-0.0.0.0}:\${PORT:-8083}" -h "$root"
`;
const VERSIONS = [
  {
    needs: 'id name',
    schema: '{reads: 1, writes: 1, migrations: {1: expand}}',
    sql: "CREATE TABLE orders (id serial PRIMARY KEY, name text); INSERT INTO orders (name) VALUES ('first');",
  },
  {
    needs: 'id name email',
    schema: '{reads: 2, writes: 2, migrations: {1: expand, 2: expand}}',
    sql: "ALTER TABLE orders ADD COLUMN email text; UPDATE orders SET email = name || '@shop.invalid';",
  },
  {
    needs: 'id email',
    schema: '{reads: 3, writes: 3, migrations: {1: expand, 2: expand, 3: contract}}',
    sql: 'ALTER TABLE orders DROP COLUMN name;',
  },
];

describe.skipIf(tools.skip)('expand and contract migrations against PostgreSQL, under load', () => {
  let repo: Repo;
  let engine: Engine;
  let db: ScratchDatabase;
  let urls: Record<string, string>;
  let day = 10;
  const env = (): Record<string, string> => ({ ORDERS_DATABASE_URL: db.url });

  /** Commits orders version `n` (1-based): what its code reads, its schema declaration and its migration. */
  async function commitVersion(n: number) {
    const v = VERSIONS[n - 1];
    if (!v) throw new Error(`no version ${n}`);
    const dir = join(repo.dir, 'services', 'orders');
    await writeFile(join(dir, 'needs'), `${v.needs}\n`);
    await writeFile(join(dir, 'interfaces.yaml'), `provides: {orders-api: 1}\nschema: ${v.schema}\n`);
    await writeFile(join(dir, 'migrations', `${n}.sql`), `${v.sql}\n`);
    await repo.commitAll(`orders v${n}`, `2026-03-${day++}T00:00:00Z`);
    const built = await bake(['-C', repo.dir, '--json', 'build', '--commit', 'shop'], { env: env() });
    expect(built.exitCode, built.stderr).toBe(0);
    return built.json.builds[0] as { build: number; vector: Record<string, number> };
  }

  /** Clients that GET /needs through the router, then read exactly those columns: a missing column fails the request. */
  function startLoad(concurrency = 2) {
    const result = { ok: 0, failed: 0, failures: [] as string[], releases: new Set<number>() };
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const response = await fetch(`${urls['orders']}/needs`);
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const columns = (await response.text()).trim().split(/\s+/);
          await db.sql(`SELECT ${columns.join(', ')} FROM orders LIMIT 1`);
          result.releases.add(Number(response.headers.get('x-bake-release')));
          result.ok++;
        } catch (error) {
          result.failed++;
          result.failures.push((error as Error).message.split('\n')[0] ?? '');
        }
      }
    };
    const clients = Array.from({ length: concurrency }, client);
    return {
      /** What was served so far, while the clients keep going. */
      seen: () => result,
      async stop() {
        running = false;
        await Promise.all(clients);
        return result;
      },
    };
  }

  async function environment() {
    return (await manifestOf(repo.dir)).environments['db'] as unknown as {
      releases: { id: number; state: string; migrations?: { migration: number; kind: string; status: string }[] }[];
      changes: { kind: string; message: string }[];
    };
  }

  /** Every migration applied in the environment, in order, as `N kind @release`. */
  async function applied() {
    return (await environment()).releases.flatMap((r) =>
      (r.migrations ?? []).filter((m) => m.status === 'applied').map((m) => `${m.migration} ${m.kind} @${r.id}`),
    );
  }

  beforeAll(async () => {
    engine = await createEngine();
    db = await scratchDatabase('orders');
    repo = await shopRepo();
    const dir = join(repo.dir, 'services', 'orders');
    await mkdir(join(dir, 'migrations'), { recursive: true });
    await writeFile(join(dir, 'run.sh'), RUN_SH);
    await chmod(join(dir, 'run.sh'), 0o755);
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(
      join(repo.dir, 'bake.yaml'),
      yaml.replace('environments:\n', 'environments:\n  db:\n    image: shop\n    replicas: 2\n    strategy: rolling\n    probation: 3\n'),
    );
    await appendFile(
      join(repo.dir, 'bake.yaml'),
      [
        '  orders:',
        '    source: services/orders',
        '    install: /srv/orders',
        '    run: /srv/orders/run.sh',
        '    port: 8083',
        '    health: /healthz',
        '    interfaces: interfaces.yaml',
        '    schema:',
        `      migrate: 'psql "$ORDERS_DATABASE_URL" -v ON_ERROR_STOP=1 -q -f "migrations/$BAKE_MIGRATION.sql"'`,
        '',
      ].join('\n'),
    );
    const recipe = join(repo.dir, 'recipes', 'shop.yaml');
    await writeFile(
      recipe,
      (await readFile(recipe, 'utf8')).replace('services: [catalog, cart, web]', 'services: [catalog, cart, web, orders]'),
    );
    await commitVersion(1);
    const up = await bake(['-C', repo.dir, '--json', 'up', 'db'], { env: env() });
    expect(up.exitCode, up.stderr).toBe(0);
    urls = up.json.router;
  });
  afterAll(async () => {
    if (repo) await bake(['-C', repo.dir, '--json', 'down', 'db'], { env: env() });
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    await repo?.cleanup();
    await db?.drop();
  });

  it('ran v1 expand migration before its instances started', async () => {
    expect(await db.columns('orders')).toEqual(['id', 'name']);
    expect(await applied()).toEqual(['1 expand @1']);
    const load = startLoad();
    await new Promise((r) => setTimeout(r, 500));
    const served = await load.stop();
    expect(served.failed, served.failures.join('; ')).toBe(0);
    expect(served.ok).toBeGreaterThan(0);
  });

  it('expands for v2 before it starts, while v1 keeps serving: zero failed requests', async () => {
    await commitVersion(2);
    const load = startLoad();
    const run = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'db'], { env: env() });
    const served = await load.stop();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(served.failed, served.failures.join('; ')).toBe(0);
    expect(served.releases).toEqual(new Set([1, run.json.release])); // both versions served during the rollout
    expect(await db.columns('orders')).toEqual(['id', 'name', 'email']);
    expect(await applied()).toEqual(['1 expand @1', `2 expand @${run.json.release}`]);
  });

  it('never contracts while a canary of v3 is live; withdrawing it leaves the schema as it was', async () => {
    await commitVersion(3);
    const load = startLoad();
    const run = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'db', '--strategy', 'canary'], { env: env() });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.state).toBe('probation');
    // The canary takes a share of the traffic: wait (bounded) until it has served some, on a loaded machine too.
    for (let waited = 0; !load.seen().releases.has(run.json.release) && waited < 20_000; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await db.columns('orders')).toEqual(['id', 'name', 'email']);
    const back = await bake(['-C', repo.dir, '--json', 'rollback', '--env', 'db'], { env: env() });
    const served = await load.stop();
    expect(back.exitCode, back.stderr).toBe(0);
    expect(served.failed, served.failures.join('; ')).toBe(0);
    expect(served.releases.has(run.json.release)).toBe(true);
    expect(await db.columns('orders')).toEqual(['id', 'name', 'email']);
    expect((await applied()).map((a) => a.split(' @')[0])).toEqual(['1 expand', '2 expand']);
  });

  it('contracts for v3 only after blue/green probation ended and the v2 fleet is gone: zero failed requests', async () => {
    const load = startLoad();
    const run = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'db', '--strategy', 'blue-green'], { env: env() });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.state).toBe('probation');
    // On probation the old fleet is kept for an instant flip-back: what it reads must still be there.
    expect(await db.columns('orders')).toEqual(['id', 'name', 'email']);
    // The router's timer ends the probation (bake settle), retires the v2 fleet, then runs the contract.
    const deadline = Date.now() + 30_000;
    while (!(await applied()).some((a) => a.startsWith('3 contract')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    await new Promise((r) => setTimeout(r, 500));
    const served = await load.stop();
    expect(served.failed, served.failures.join('; ')).toBe(0);
    expect(await applied()).toEqual(['1 expand @1', expect.stringMatching(/^2 expand @/), `3 contract @${run.json.release}`]);
    expect(await db.columns('orders')).toEqual(['id', 'email']);
    const history = (await environment()).changes.map((c) => c.kind);
    expect(history.lastIndexOf('probation-end')).toBeLessThan(history.lastIndexOf('migrate'));
  });

  it('refuses a rollback past the contract, naming the migration, and changes nothing', async () => {
    const releases = (await environment()).releases.length;
    const run = await bake(['-C', repo.dir, '--json', 'rollback', '--env', 'db'], { env: env() });
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.json.error).toMatchObject({ kind: 'incompatible', reason: 'schema', service: 'orders', have: 2, want: 3, migration: 3 });
    expect(run.json.error.message).toMatch(
      /^refusing to roll back shop:\d+ in db: orders v2 works with the schema up to migration 2, but contract migration 3 of orders ran \(release \d+, [^)]+\) and dropped what it uses: code older than a contracted schema cannot run again$/,
    );
    expect((await environment()).releases).toHaveLength(releases);
    expect(await db.columns('orders')).toEqual(['id', 'email']);
    const served = startLoad();
    await new Promise((r) => setTimeout(r, 300));
    expect((await served.stop()).failed).toBe(0);
  });
});
