import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const START = fileURLToPath(new URL('../../scripts/test-postgres.sh', import.meta.url));

/**
 * The PostgreSQL the tests use, at BAKE_TEST_DATABASE_URL. `.ci/run` starts it (scripts/test-postgres.sh:
 * a cluster under /tmp/bake-pg on 127.0.0.1:54329); on a laptop without the variable (and not in
 * CI) this starts the same cluster and sets the variable, so `requireTools('postgres')` finds it.
 * In CI it only takes what .ci/run set: a missing database must fail there, not be papered over.
 * Call it at the top of a test file, before requireTools.
 */
export function ensureTestPostgres(): string | undefined {
  const given = process.env['BAKE_TEST_DATABASE_URL'];
  if (given || process.env['CI'] === 'true') return given;
  const started = spawnSync('sh', [START], { encoding: 'utf8', timeout: 120_000 });
  const url = started.status === 0 ? started.stdout.trim() : undefined;
  if (url) process.env['BAKE_TEST_DATABASE_URL'] = url;
  else console.warn(`test-postgres: ${started.stderr || started.error?.message || 'did not start'}`);
  return url;
}

export interface ScratchDatabase {
  name: string;
  /** postgres://… of this database. */
  url: string;
  /** Runs SQL through psql (ON_ERROR_STOP); resolves to its unaligned, tuples-only output. Rejects on an error. */
  sql(statement: string): Promise<string>;
  /** The columns of a table, in order (empty when it does not exist). */
  columns(table: string): Promise<string[]>;
  drop(): Promise<void>;
}

/** A fresh database of its own on the test cluster, so test files never see each other's tables. */
export async function scratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const server = process.env['BAKE_TEST_DATABASE_URL'];
  if (!server) throw new Error('BAKE_TEST_DATABASE_URL is not set (see test/helpers/postgres.ts)');
  const name = `bake_${prefix}_${randomBytes(4).toString('hex')}`.replace(/[^a-z0-9_]/g, '_');
  const at = (database: string) => {
    const url = new URL(server);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const psql = async (url: string, statement: string) =>
    (await execa('psql', [url, '-v', 'ON_ERROR_STOP=1', '-Atqc', statement], { stdin: 'ignore' })).stdout;
  await psql(server, `CREATE DATABASE ${name}`);
  const url = at(name);
  return {
    name,
    url,
    sql: (statement) => psql(url, statement),
    async columns(table) {
      const out = await psql(
        url,
        `SELECT column_name FROM information_schema.columns WHERE table_name = '${table.replace(/'/g, "''")}' ORDER BY ordinal_position`,
      );
      return out === '' ? [] : out.split('\n');
    },
    async drop() {
      await psql(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
