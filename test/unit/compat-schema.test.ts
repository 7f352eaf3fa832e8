import { describe, expect, it } from 'vitest';
import type { DeclarationLookup } from '../../src/compat/declarations.js';
import { appliedMigrations, planMigrations } from '../../src/compat/migration-plan.js';
import { checkSchemas, describeSchemaProblem } from '../../src/compat/schema-check.js';
import type { EnvironmentRecord, MigrationKind, SchemaDeclaration } from '../../src/manifest/model.js';

// Expand/contract over tables: which migrations may run when, and which releases the schema forbids.
// orders v1 creates the table (1), v2 adds a column and reads it (2), v3 drops the old column (3,
// contract), v4 adds another (4).
const MIGRATIONS: Record<string, MigrationKind> = { 1: 'expand', 2: 'expand', 3: 'contract', 4: 'expand' };
const schema = (reads: number, writes = reads): SchemaDeclaration => ({ reads, writes, migrations: MIGRATIONS });
const VERSIONS: Record<number, SchemaDeclaration> = { 1: schema(1), 2: schema(2), 3: schema(3), 4: schema(4) };
const declared: DeclarationLookup = (service, version) => (service === 'orders' ? { schema: VERSIONS[version] } : undefined);

/** An environment whose releases applied these migrations (release id = position + 1). */
function applied(...runs: [number, MigrationKind][]): EnvironmentRecord {
  return {
    live: {},
    refusals: [],
    releases: runs.map(([migration, kind], i) => ({
      id: i + 1,
      env: 'dev',
      image: 'shop',
      build: i + 1,
      digest: 'sha256:0',
      vector: {},
      level: 'heavy',
      serviceLayers: {},
      at: '2026-01-01T00:00:00Z',
      by: 'ops',
      overrides: [],
      state: 'committed',
      generation: 1,
      migrations: [
        { service: 'orders', migration, kind, version: 1, status: 'applied', at: `2026-01-0${i + 1}T00:00:00Z`, by: 'ops', ms: 5 },
      ],
    })),
  };
}

describe('planMigrations', () => {
  it.each<[string, SchemaDeclaration, number[], number, number[], string]>([
    ['a fresh database: every expand up to what the code needs', schema(2), [], 2, [2], '1 expand, 2 expand'],
    ['only what is not applied yet', schema(2), [1], 2, [1, 2], '2 expand'],
    ['a contract waits while older code runs', schema(3), [1, 2], 3, [2, 3], 'blocked at 3 (contract) by 2'],
    ['a contract runs once every running version works with it', schema(3), [1, 2], 3, [3], '3 contract'],
    ['nothing running: the contract may run before the code starts', schema(4), [], 4, [4], '1 expand, 2 expand, 3 contract, 4 expand'],
    ['an expand after a blocked contract waits too', schema(4), [1, 2], 4, [2, 4], 'blocked at 3 (contract) by 2'],
    [
      'an undeclared migration blocks',
      { reads: 2, writes: 2, migrations: { 1: 'expand' } },
      [],
      2,
      [2],
      '1 expand, blocked at 2 (undeclared)',
    ],
  ])('%s', (_name, declaredSchema, done, upTo, running, expected) => {
    const plan = planMigrations(declaredSchema, new Set(done), upTo, running);
    const parts = plan.run.map((m) => `${m.migration} ${m.kind}`);
    if (plan.blocked)
      parts.push(
        `blocked at ${plan.blocked.migration} (${plan.blocked.kind})${plan.blocked.by !== undefined ? ` by ${plan.blocked.by}` : ''}`,
      );
    expect(parts.join(', ')).toBe(expected);
  });
});

describe('checkSchemas', () => {
  it.each<[string, EnvironmentRecord, Record<string, number>, Record<string, number>[], string[]]>([
    ['v2 over v1: its expand runs first, v1 keeps working', applied([1, 'expand']), { orders: 2 }, [{ orders: 1 }], []],
    ['v3 over v2: the contract waits for v2 to go', applied([1, 'expand'], [2, 'expand']), { orders: 3 }, [{ orders: 2 }], []],
    [
      'going back to v2 after contract 3 ran',
      applied([1, 'expand'], [2, 'expand'], [3, 'contract']),
      { orders: 2 },
      [{ orders: 3 }],
      ['contracted 3'],
    ],
    ['v3 again after its contract ran', applied([1, 'expand'], [2, 'expand'], [3, 'contract']), { orders: 3 }, [{ orders: 3 }], []],
    [
      'v4 while v2 still runs: expand 4 comes after contract 3, which v2 needs',
      applied([1, 'expand'], [2, 'expand']),
      { orders: 4 },
      [{ orders: 2 }],
      ['out-of-order 3'],
    ],
    ['v4 once v3 runs and contract 3 is done', applied([1, 'expand'], [2, 'expand'], [3, 'contract']), { orders: 4 }, [{ orders: 3 }], []],
    ['services without a schema are not judged', applied([1, 'expand']), { web: 1 }, [{ web: 2 }], []],
  ])('%s', (_name, env, newVector, running, expected) => {
    expect(checkSchemas({ env, newVector, running, declared }).map((p) => `${p.kind} ${p.migration}`)).toEqual(expected);
  });

  it('names the migration, the release that ran it and why the code cannot run', () => {
    const [problem] = checkSchemas({
      env: applied([1, 'expand'], [2, 'expand'], [3, 'contract']),
      newVector: { orders: 2 },
      running: [{ orders: 3 }],
      declared,
    });
    expect(problem && describeSchemaProblem(problem)).toBe(
      'orders v2 works with the schema up to migration 2, but contract migration 3 of orders ran (release 3, 2026-01-03T00:00:00Z) ' +
        'and dropped what it uses: code older than a contracted schema cannot run again',
    );
  });

  it('reads the history from every release, ignoring failed runs', () => {
    const env = applied([1, 'expand'], [2, 'expand']);
    const second = env.releases[1]?.migrations?.[0];
    if (second) second.status = 'failed';
    expect([...(appliedMigrations(env).get('orders')?.keys() ?? [])]).toEqual([1]);
  });
});
