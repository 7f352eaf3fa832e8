import { lstat, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { raceWorkspace } from '../race/race-workspace.js';
import { hostileTar, type Member } from './hostile-tar.js';
import { clientHeaders, command, send, serve, sha256, tokenFile, upload, WRITE, type Served } from './service-harness.js';

// Hostile archives sent through the real `bake serve` upload endpoint, as a CI job holding a write
// token could send them. Each must get a 4xx with a reason and no path of the server, and leave
// nothing behind: not in the workspace (bake.yaml above all) and not under .bake/uploads.

let ws: { dir: string; cleanup(): Promise<void> };
let served: Served;
let bakeYaml: string;

beforeAll(async () => {
  ws = await raceWorkspace(['s1', 'slow'], { one: ['s1'] });
  const yaml = join(ws.dir, 'bake.yaml');
  await writeFile(
    yaml,
    (await readFile(yaml, 'utf8')).replace('    source: services/slow\n', '    source: services/slow\n    build: sleep 3\n'),
  );
  bakeYaml = await readFile(yaml, 'utf8');
  served = await serve(ws.dir, ['--tokens', await tokenFile(ws.dir)]);
});
afterAll(async () => {
  await served?.stop();
  await ws?.cleanup();
});

/** A member that takes an upload over MEMORY_UPLOAD_BYTES (256 KiB): the service unpacks it to disk instead of holding it. */
const PADDING: Member = { name: 'padding.bin', body: Buffer.alloc(300 * 1024, 7) };
const onDisk = (members: readonly Member[]): Member[] => [...members, PADDING];

const uploadsDir = () => join(ws.dir, '.bake', 'uploads');
const stored = async () => (await readdir(uploadsDir()).catch(() => [] as string[])).sort();

/** `x -> .`, then `x/…/y -> ../…` climbing `depth` levels, then a file `…/y/bake.yaml`: the audit's chain. */
function chain(depth: number): Member[] {
  const through = Array.from({ length: depth }, () => 'x').join('/');
  return [
    { name: 'x', type: 'symlink', linkname: '.' },
    { name: `${through}/y`, type: 'symlink', linkname: '../'.repeat(depth + 2) },
    { name: `${through}/y/bake.yaml`, body: 'services: {evil: {source: ., build: touch /tmp/pwned}}\n' },
  ];
}

describe('hostile uploads through bake serve', () => {
  const cases: [string, Member[], number, RegExp][] = [
    ...[1, 2, 3].map((depth): [string, Member[], number, RegExp] => [`a symlink chain ${depth} deep`, chain(depth), 400, /symlink|link/]),
    ['the chain in reverse order', chain(2).reverse(), 400, /link/],
    [
      'a file under a link to the parent',
      [
        { name: 'up', type: 'symlink', linkname: '..' },
        { name: 'up/bake.yaml', body: 'x' },
      ],
      400,
      /symlink up/,
    ],
    ['an absolute link', [{ name: 'etc', type: 'symlink', linkname: '/etc' }], 400, /etc/],
    ['.. in a path', [{ name: '../../bake.yaml', body: 'x' }], 400, /\.\./],
    ['.. in a PAX path', [{ name: 'innocent', body: 'x', pax: { path: '../../../bake.yaml' } }], 400, /\.\./],
    ['.. in a GNU long name', [{ name: `${'a/'.repeat(60)}../../../../${'../'.repeat(60)}bake.yaml`, body: 'x', gnu: true }], 400, /\.\./],
    [
      'a hard link',
      [
        { name: 'a', body: 'x' },
        { name: 'b', type: 'link', linkname: 'a' },
      ],
      400,
      /hard link/,
    ],
    ['a character device', [{ name: 'null', type: 'character-device' }], 400, /character-device|device/],
    ['a fifo', [{ name: 'pipe', type: 'fifo' }], 400, /fifo/],
    [
      'a duplicate entry',
      [
        { name: 'a', body: 'one' },
        { name: 'a', body: 'two' },
      ],
      400,
      /twice/,
    ],
    ['a member declaring 8 GiB', [{ name: 'huge', size: 8 * 2 ** 30, body: '' }], 413, /bytes/],
  ];
  it.each(
    cases.flatMap(([name, members, status, reason]) => [
      [`${name} (small: held in memory)`, members, status, reason] as const,
      [`${name} (large: unpacked to disk)`, onDisk(members), status, reason] as const,
    ]),
  )('%s: refused, nothing written', async (_name, members, status, reason) => {
    const before = await stored();
    const answer = await upload(served, hostileTar(members));
    expect(answer.status, answer.text).toBe(status);
    expect(answer.json.error.message).toMatch(reason);
    expect(answer.text, 'no server path in the answer').not.toContain(ws.dir);
    expect(answer.text).not.toMatch(/\/tmp\/|at [A-Za-z]+ \(/);
    expect(await stored()).toEqual(before);
    expect(await readFile(join(ws.dir, 'bake.yaml'), 'utf8')).toBe(bakeYaml);
  });

  it('drops setuid, setgid and sticky bits and keeps git modes', async () => {
    const tar = hostileTar(
      onDisk([
        { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o6755 },
        { name: 'notes', body: 'x', mode: 0o1666 },
      ]),
    );
    const answer = await upload(served, tar);
    expect(answer.status, answer.text).toBe(200);
    const dir = join(uploadsDir(), answer.json.upload);
    expect((await stat(join(dir, 'bin', 'tool'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(dir, 'notes'))).mode & 0o7777).toBe(0o644);
  });

  it('refuses an upload that does not match its digest, a corrupt one, and a null command with 400', async () => {
    const tar = hostileTar([{ name: 'a', body: 'x' }]);
    const mismatch = await upload(served, tar, { digest: `sha256:${'0'.repeat(64)}` });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.message).toMatch(/does not match its digest/);
    const junk = Buffer.from('this is not a tar archive at all'.repeat(40));
    const corrupt = await upload(served, junk);
    expect(corrupt.status, corrupt.text).toBe(400);
    expect(corrupt.text).not.toContain(ws.dir);
    expect((await upload(served, tar, { digest: 'sha256:../../etc' })).status).toBe(400);
    expect((await command(served, 'null')).status).toBe(400);
    expect((await command(served, '[]')).status).toBe(400);
    expect(await stored()).not.toContainEqual(expect.stringMatching(/^\.tmp-/));
  });

  it('refuses a declared body over the limit at once with 413, before reading it', async () => {
    const answer = await send(served.url, {
      path: `/v1/uploads?digest=${sha256(Buffer.from('x'))}`,
      headers: { ...clientHeaders(served.port, 'application/x-tar'), 'content-length': String(2 ** 31) },
      body: Buffer.alloc(0),
    }).catch((error: unknown) => ({ status: -1, text: String(error), json: undefined }));
    expect(answer.status).toBe(413);
  });

  it('six concurrent uploads of the same tree all succeed, stored once', async () => {
    const tar = hostileTar(Array.from({ length: 200 }, (_, i) => ({ name: `dir/file-${i}`, body: `content ${i}\n`.repeat(200) })));
    const answers = await Promise.all(Array.from({ length: 6 }, () => upload(served, tar)));
    expect(
      answers.map((a) => a.status),
      answers.map((a) => a.text).join('\n'),
    ).toEqual([200, 200, 200, 200, 200, 200]);
    const hex = sha256(tar).slice(7);
    expect(new Set(answers.map((a) => a.json.upload))).toEqual(new Set([hex]));
    expect((await stored()).filter((name) => name === hex || name.startsWith('.tmp-'))).toEqual([hex]);
    expect(await readdir(join(uploadsDir(), hex, 'dir'))).toHaveLength(200);
    // The uploaded tree commits like any other.
    const commit = await command(served, { command: 'commit', options: { services: [{ service: 's1', upload: hex }] } });
    expect(commit.status).toBe(200);
    expect(commit.text).toMatch(/"result"/);
  });

  it('receives at most four uploads at once; the others wait their turn', async () => {
    // Four uploads that send half a body and stop: they hold every slot.
    const tar = hostileTar([{ name: 'big', body: 'y'.repeat(256 * 1024) }]);
    const holders = Array.from({ length: 4 }, () => {
      const socket = connect(served.port, '127.0.0.1');
      const head = Object.entries({ ...clientHeaders(served.port, 'application/x-tar'), 'content-length': String(tar.length) })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`POST /v1/uploads?digest=${sha256(tar)} HTTP/1.1\r\n${head}\r\n`);
      socket.write(tar.subarray(0, 100 * 1024));
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.on('error', () => undefined);
      return { socket, answer: () => answer };
    });
    await new Promise((r) => setTimeout(r, 500));
    const small = hostileTar([{ name: 'small', body: 'z' }]);
    let done = false;
    const waiting = upload(served, small).then((a) => {
      done = true;
      return a;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(done, 'a fifth upload waits while four are received').toBe(false);
    // One holder finishes its body: its slot passes to the waiting upload.
    holders[0]?.socket.write(tar.subarray(100 * 1024));
    const answer = await waiting;
    expect(answer.status, answer.text).toBe(200);
    for (const h of holders.slice(1)) h.socket.write(tar.subarray(100 * 1024));
    for (let i = 0; i < 50 && !holders.every((h) => h.answer().includes('\r\n\r\n')); i++) await new Promise((r) => setTimeout(r, 100));
    expect(holders.map((h) => h.answer().split('\r\n')[0])).toEqual(Array(4).fill('HTTP/1.1 200 OK'));
    for (const h of holders) h.socket.destroy();
  });

  it('holds a small upload in memory: nothing under .bake/uploads, and a commit of it records the tree', async () => {
    const before = await stored();
    const tar = hostileTar([
      { name: 'VERSION', body: 'held in memory\n' },
      { name: 'bin/tool', body: '#!/bin/sh\n', mode: 0o6755 },
    ]);
    const answer = await upload(served, tar);
    expect(answer.status, answer.text).toBe(200);
    expect(await stored()).toEqual(before);
    const committed = await command(served, { command: 'commit', options: { services: [{ service: 's1', upload: answer.json.upload }] } });
    expect(committed.text).toMatch(/"created":true/);
    const latest = (await manifestOf(ws.dir)).services['s1']?.versions.at(-1);
    expect(latest?.source).toBe('directory');
    // An upload this process never held is missing, and says so: the client uploads it again.
    const missing = await command(served, { command: 'commit', options: { services: [{ service: 's1', upload: 'e'.repeat(64) }] } });
    expect(missing.text).toMatch(/upload-missing/);
  });

  it('bake gc removes uploads nothing needs, and keeps one an in-flight request names', async () => {
    const old = hostileTar(onDisk([{ name: 'old', body: 'old\n' }]));
    const oldHex = (await upload(served, old)).json.upload as string;
    const slowTar = hostileTar(onDisk([{ name: 'VERSION', body: 'slow\n' }]));
    const slowHex = (await upload(served, slowTar)).json.upload as string;
    const past = new Date(Date.now() - 600_000);
    await utimes(join(uploadsDir(), oldHex), past, past);
    await utimes(join(uploadsDir(), slowHex), past, past);
    // A commit whose build takes 3 s: its upload is in use while it runs.
    const slow = command(served, { command: 'commit', options: { services: [{ service: 'slow', upload: slowHex }] } });
    await new Promise((r) => setTimeout(r, 800));
    const dry = await bake(['-C', ws.dir, '--json', 'gc', '--grace', '60', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.json.store.uploads).toContain(`sha256:${oldHex}`);
    expect(await stored()).toContain(oldHex);
    const gc = await bake(['-C', ws.dir, '--json', 'gc', '--grace', '60']);
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(gc.json.store.uploads).toContain(`sha256:${oldHex}`);
    expect(gc.json.store.uploads).not.toContain(`sha256:${slowHex}`);
    expect(await stored()).not.toContain(oldHex);
    expect(await stored()).toContain(slowHex);
    const answer = await slow;
    expect(answer.text).toMatch(/"result"/);
    // Once the commit recorded it, the store holds its layer: the upload can go (after the grace).
    await utimes(join(uploadsDir(), slowHex), past, past);
    const after = await bake(['-C', ws.dir, '--json', 'gc', '--grace', '60']);
    expect(after.json.store.uploads).toContain(`sha256:${slowHex}`);
    // A fresh upload is kept by the grace period.
    const fresh = (await upload(served, hostileTar(onDisk([{ name: 'fresh', body: 'new\n' }])))).json.upload as string;
    expect((await bake(['-C', ws.dir, '--json', 'gc', '--grace', '60'])).json.store.uploads).not.toContain(`sha256:${fresh}`);
    expect((await manifestOf(ws.dir)).services['slow']?.versions).toHaveLength(1);
  });
});

describe('a service start clears what a crash left', () => {
  // A dead writer of the JSON file store (BAKE_DATABASE_URL=json) leaves its temp file beside
  // .bake/manifest.json; SQLite recovers its own journal when the store is next opened (test/race/crash.test.ts).
  it.each([
    ['json', { BAKE_DATABASE_URL: 'json' }],
    ['sqlite', {}],
  ] as const)("removes half uploads, keeping a live writer's, and stale manifest temp files (%s store)", async (kind, env) => {
    const scratch = await raceWorkspace(['s1'], { one: ['s1'] });
    try {
      const bakeDir = join(scratch.dir, '.bake');
      await mkdir(join(bakeDir, 'uploads', `.tmp-999999999-abcdef`, 'half'), { recursive: true });
      await mkdir(join(bakeDir, 'uploads', `.tmp-${process.pid}-live`), { recursive: true });
      if (kind === 'json') {
        await writeFile(join(bakeDir, '.manifest.json.999999999.deadbeef.tmp'), '{"half":');
        await writeFile(join(bakeDir, `.manifest.json.${process.pid}.cafe.tmp`), '{"being written":');
      }
      const s = await serve(scratch.dir, ['--tokens', await tokenFile(scratch.dir, `write ${WRITE}\n`)], env);
      try {
        expect((await readdir(join(bakeDir, 'uploads'))).sort()).toEqual([`.tmp-${process.pid}-live`]);
        if (kind === 'json') {
          expect((await readdir(bakeDir)).filter((n) => n.endsWith('.tmp'))).toEqual([`.manifest.json.${process.pid}.cafe.tmp`]);
        }
        expect((await lstat(join(bakeDir, 'uploads'))).isDirectory()).toBe(true);
        // And the store it serves works: a write through it is recorded where the workspace keeps its manifest.
        const sent = await upload(s, hostileTar([{ name: 'VERSION', body: `s1 on the ${kind} store\n` }]));
        expect(sent.status, sent.text).toBe(200);
        const committed = await command(s, { command: 'commit', options: { services: [{ service: 's1', upload: sent.json.upload }] } });
        expect(committed.text).toMatch(/"result"/);
        expect((await manifestOf(scratch.dir, env)).services['s1']?.versions).toHaveLength(1);
      } finally {
        await s.stop();
      }
    } finally {
      await scratch.cleanup();
    }
  });
});
