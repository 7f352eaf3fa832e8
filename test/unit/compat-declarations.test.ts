import { describe, expect, it } from 'vitest';
import { declarationSalt, declarationsOf } from '../../src/compat/read-declarations.js';
import type { ServiceConfig } from '../../src/config/types.js';
import type { TreeEntry } from '../../src/tree/tree.js';
import { InputError } from '../../src/util/errors.js';

// What a version declares, read at commit time from bake.yaml or from a file among its files.
const base: ServiceConfig = {
  name: 'orders',
  source: '/w/services/orders',
  sourceAsWritten: 'services/orders',
  install: '/srv/orders',
  env: {},
};

function file(path: string, text: string): TreeEntry {
  const body = Buffer.from(text);
  return { path, type: 'file', mode: 0o644, size: body.length, read: async () => body };
}

async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return (error as InputError).problems.map((p) => `${p.field ?? p.file}: ${p.message}`);
}

describe('declarationsOf', () => {
  it('takes provides, requires and the schema levels from bake.yaml, not the host command', async () => {
    const service: ServiceConfig = {
      ...base,
      provides: { 'orders-api': 3 },
      requires: { 'stock-api': '>=2 <4' },
      schema: { reads: 2, migrate: 'psql -f m.sql', migrations: { 1: 'expand', 2: 'expand' } },
    };
    expect(await declarationsOf(service, [])).toEqual({
      provides: { 'orders-api': 3 },
      requires: { 'stock-api': '>=2 <4' },
      schema: { reads: 2, writes: 2, migrations: { 1: 'expand', 2: 'expand' } },
    });
  });

  it('reads them from the interfaces file committed with the code (YAML or JSON)', async () => {
    const service: ServiceConfig = { ...base, interfaces: 'interfaces.yaml', schema: { migrate: 'true' } };
    const yaml =
      'provides: {orders-api: 4}\nrequires: {stock-api: ^2}\nschema: {reads: 1, writes: 2, migrations: {1: expand, 2: expand}}\n';
    expect(await declarationsOf(service, [file('interfaces.yaml', yaml)])).toEqual({
      provides: { 'orders-api': 4 },
      requires: { 'stock-api': '^2' },
      schema: { reads: 1, writes: 2, migrations: { 1: 'expand', 2: 'expand' } },
    });
    const json = { ...service, interfaces: './api/declared.json' };
    expect(await declarationsOf(json, [file('api/declared.json', '{"provides": {"orders-api": 5}}')])).toEqual({
      provides: { 'orders-api': 5 },
    });
  });

  it.each<[string, ServiceConfig, TreeEntry[], string[]]>([
    [
      'a range semver cannot read',
      { ...base, requires: { 'stock-api': 'two or three' } },
      [],
      ['services.orders.requires.stock-api: "two or three" is not a semver range'],
    ],
    [
      'a migration the code needs but the declaration does not name',
      { ...base, schema: { reads: 2, migrations: { 1: 'expand' } } },
      [],
      ['services.orders.schema.migrations: migration 2 is needed (reads/writes 2) but not declared'],
    ],
    [
      'the file missing from the committed files',
      { ...base, interfaces: 'interfaces.yaml' },
      [],
      ['services.orders.interfaces: interfaces.yaml is not a file among the committed files of orders'],
    ],
    [
      'declared both inline and in the file',
      { ...base, interfaces: 'interfaces.yaml', provides: { 'orders-api': 1 } },
      [file('interfaces.yaml', 'provides: {orders-api: 1}\n')],
      ['services.orders.interfaces: orders declares provides/requires/schema levels both inline and in interfaces.yaml'],
    ],
    [
      'an unknown key and a bad kind in the file',
      { ...base, interfaces: 'interfaces.yaml' },
      [file('interfaces.yaml', 'provide: {orders-api: 1}\nschema: {migrations: {1: grow}}\n')],
      ['provide: unknown key "provide"', 'schema.migrations.1: unknown value "grow"'],
    ],
  ])('refuses %s', async (_name, service, entries, expected) => {
    const problems = await problemsOf(declarationsOf(service, entries));
    expect(problems.map((p) => p.replace(/ \(fix:.*$/, ''))).toEqual(expected.map((e) => expect.stringContaining(e)));
  });

  it('makes inline declarations part of the version identity, and nothing else', () => {
    expect(declarationSalt(base)).toBe('');
    expect(declarationSalt({ ...base, schema: { migrate: 'psql' } })).toBe('');
    const a = declarationSalt({ ...base, provides: { 'orders-api': 1 } });
    const b = declarationSalt({ ...base, provides: { 'orders-api': 2 } });
    expect(a).not.toBe('');
    expect(a).not.toBe(b);
  });
});
