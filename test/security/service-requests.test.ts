import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUEST_FIELDS, type Field } from '../../src/service/requests.js';
import { manifestOf } from '../helpers/manifest.js';
import { raceWorkspace } from '../race/race-workspace.js';
import { hostileTar } from './hostile-tar.js';
import { clientHeaders, command, send, serve, tokenFile, upload, type Served } from './service-harness.js';

// Remote callers name sources only as uploads: every option of every command the service takes
// (read from the request table itself, so a new option is covered the day it is added) is sent
// every spelling of a host path and of things that are not what the option holds. Each must be
// a 400 that records nothing.

let ws: { dir: string; cleanup(): Promise<void> };
let served: Served;
let hex: string;

beforeAll(async () => {
  ws = await raceWorkspace(['s1'], { one: ['s1'] });
  served = await serve(ws.dir, ['--tokens', await tokenFile(ws.dir)]);
  hex = (await upload(served, hostileTar([{ name: 'VERSION', body: 'one\n' }]))).json.upload;
});
afterAll(async () => {
  await served?.stop();
  await ws?.cleanup();
});

const PATHS = [
  '/etc/passwd',
  '../../etc/passwd',
  '..',
  '.',
  './bake.yaml',
  'recipes/one.yaml',
  '--from=/etc',
  '--from',
  '-C/etc',
  '~/.ssh/id_rsa',
  'file:///etc/passwd',
  'C:\\Windows\\system32',
  '\\\\host\\share',
  'one/../../../etc',
  'one\0/etc',
  'one\n/etc',
  '\x1b]0;owned\x07',
  'x'.repeat(5000),
  '',
];
/** Stands for the digest of a real upload; replaced when a request is sent (the upload is made in beforeAll). */
const HEX = '<uploaded>';
const uploadedTree = { service: 's1', upload: HEX };
const withUpload = (value: unknown): unknown => JSON.parse(JSON.stringify(value).replaceAll(HEX, hex));

/**
 * Options that are free text, recorded and shown but never resolved to anything (a revocation's
 * reason): a path in them is just words, so only what no recorded line may hold is refused.
 */
const FREE_TEXT = new Set(['reason']);
const NOT_A_LINE = ['a\0b', 'one\n/etc', '\x1b]0;owned\x07', 'x'.repeat(5000), '', 7, ['/etc']];

/** Values of the wrong shape or holding a path, for each kind of field. */
function hostileValues(key: string, field: Field): unknown[] {
  switch (field.type) {
    case 'string':
      if (FREE_TEXT.has(key)) return NOT_A_LINE;
      return [...PATHS, ...(key === 'image' ? ['one.yaml', 'one.yml'] : []), 7, true, ['/etc'], { path: '/etc' }];
    case 'strings':
      return [...PATHS.map((p) => [p]), ['one', '/etc/passwd'], ['one.yaml'], '/etc', Array(300).fill('one'), [7]];
    case 'boolean':
      return ['/etc', 'true', 1, {}, ['/etc']];
    case 'integer':
      return ['/etc', '1', -1, 1.5, 1e300, Number.MAX_SAFE_INTEGER + 2, { from: '/etc' }];
    case 'uploads':
      return [
        '/etc',
        ['/etc'],
        [{ ...uploadedTree, upload: '/etc/passwd' }],
        [{ ...uploadedTree, upload: `../${HEX}` }],
        [{ ...uploadedTree, upload: 'A'.repeat(64) }],
        [{ ...uploadedTree, upload: `${HEX}/..` }],
        [{ ...uploadedTree, service: '../s1' }],
        [{ ...uploadedTree, dir: '/etc' }],
        [{ ...uploadedTree, from: '/etc' }],
        [{ ...uploadedTree, path: '/etc' }],
        [{ ...uploadedTree, revision: 'a\0b' }],
        [{ ...uploadedTree, revision: '\x1b[2J' }],
        [{ ...uploadedTree, author: 'x'.repeat(5000) }],
        [{ ...uploadedTree, time: -1 }],
        [{ ...uploadedTree, time: 1e20 }],
        [{ ...uploadedTree, proof: { after: '/etc' } }],
        [{ ...uploadedTree, proof: { after: 1, path: '/etc' } }],
        [{ upload: HEX }],
      ];
  }
}

/** A valid value for each option a command requires, so a refusal is about the option under test. */
const VALID: Record<string, unknown> = {
  image: 'one',
  env: 'prod',
  target: '127.0.0.1:1/one',
  service: 's1',
  reason: 'a test',
  services: [uploadedTree],
};
function base(cmd: string): Record<string, unknown> {
  const fields = (REQUEST_FIELDS as Record<string, Record<string, Field>>)[cmd] ?? {};
  const isRequired = ([key, field]: [string, Field]) =>
    ('required' in field && field.required === true) || (cmd === 'commit' && key === 'services');
  const required = Object.entries(fields).filter(isRequired);
  return Object.fromEntries(required.map(([key]) => [key, VALID[key]]));
}

const cases = Object.entries(REQUEST_FIELDS).flatMap(([cmd, fields]) =>
  Object.entries(fields as Record<string, Field>).flatMap(([key, field]) =>
    hostileValues(key, field).map((value, i) => ({ name: `${cmd} ${key} #${i}`, cmd, key, value })),
  ),
);

async function workspaceFiles(dir = ws.dir, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (path === '.bake/locks' || path.startsWith('.bake/locks/')) continue;
    out.push(path);
    if (entry.isDirectory()) out.push(...(await workspaceFiles(dir, path)));
  }
  return out.sort();
}

describe('every option of every remote command refuses host paths', () => {
  it('knows every kind of field in the request table', () => {
    const kinds = new Set(
      Object.values(REQUEST_FIELDS).flatMap((fields) => Object.values(fields as Record<string, Field>).map((f) => f.type)),
    );
    for (const kind of kinds) expect(['string', 'strings', 'boolean', 'integer', 'uploads']).toContain(kind);
    expect(cases.length).toBeGreaterThan(100);
  });

  it('accepts a valid request of each command (so the refusals below can fail)', async () => {
    for (const cmd of Object.keys(REQUEST_FIELDS)) {
      const answer = await command(served, withUpload({ command: cmd, options: { ...base(cmd), ...(cmd === 'gc' && { dryRun: true }) } }));
      expect(answer.status, `${cmd}: ${answer.text}`).toBe(200);
    }
  });

  it(`refuses each of ${cases.length} hostile option values with 400, recording nothing`, async () => {
    const before = (await manifestOf(ws.dir)).generation;
    const files = await workspaceFiles();
    const accepted: string[] = [];
    for (const { name, cmd, key, value } of cases) {
      const answer = await command(served, withUpload({ command: cmd, options: { ...base(cmd), [key]: value } }));
      const refused = answer.status === 400 && answer.json?.error?.kind === 'bad-request';
      if (!refused) accepted.push(`${name} ${JSON.stringify(value).slice(0, 60)}: ${answer.status}`);
    }
    expect(accepted).toEqual([]);
    expect((await manifestOf(ws.dir)).generation).toBe(before);
    expect(await workspaceFiles()).toEqual(files);
  });

  it('refuses options that name a directory, a workspace or a recipe file, in any spelling', async () => {
    const keys = [
      'from',
      '--from',
      '--from=/etc',
      'dir',
      'workspace',
      'C',
      'trees',
      'dev',
      'source',
      'recipe',
      'file',
      'path',
      'cwd',
      'services ',
    ];
    for (const cmd of Object.keys(REQUEST_FIELDS)) {
      for (const key of keys) {
        if (Object.hasOwn((REQUEST_FIELDS as Record<string, object>)[cmd] ?? {}, key)) continue;
        const answer = await command(served, withUpload({ command: cmd, options: { ...base(cmd), [key]: '/etc' } }));
        expect(answer.status, `${cmd} ${key}`).toBe(400);
      }
    }
    for (const extra of [{ workspace: '/etc' }, { cwd: '/etc' }, { argv: ['commit', '--from=/etc', 's1'] }]) {
      expect((await command(served, { command: 'status', options: {}, ...extra })).status).toBe(400);
    }
    expect((await command(served, { command: 'status', options: {}, actor: 'ci\x1b]0;x\x07' })).status).toBe(400);
  });

  it('refuses commands the service does not run', async () => {
    for (const cmd of ['serve', 'router', 'deploy', 'up', 'down', 'verify', '../status', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect((await command(served, { command: cmd, options: {} })).status, cmd).toBe(400);
    }
  });
});

describe('the request guard answers the client the way the routes expect', () => {
  it('serves GET /v1/health without a body type and refuses an unknown endpoint with 404', async () => {
    expect((await send(served.url, { method: 'GET', path: '/v1/health', headers: { host: `127.0.0.1:${served.port}` } })).status).toBe(200);
    const missing = await send(served.url, { path: '/v1/nothing', headers: clientHeaders(served.port, 'application/json'), body: '{}' });
    expect(missing.status).toBe(404);
  });
});
