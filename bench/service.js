// Issue 6's benchmark: `bake serve` under concurrent clients (status and commit requests per
// second), against the same operations as separate local `bake` processes, and the overhead of
// a bake through the service against a local one.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { bake, bakeBin, fmt, spawnAsync, tempDir } from './lib.js';

const CLIENTS = 8;
const SECONDS = 3;

function post(port, path, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function rate(fn) {
  const deadline = Date.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline) {
        await fn();
        done++;
      }
    }),
  );
  return done / SECONDS;
}

export async function benchService(report) {
  const tmp = tempDir('service');
  const ws = tmp.dir;
  let yaml = 'services:\n';
  for (const s of ['s1', 's2']) {
    mkdirSync(join(ws, 'services', s), { recursive: true });
    writeFileSync(join(ws, 'services', s, 'data'), `${s}\n`.repeat(1000));
    yaml += `  ${s}: {source: services/${s}, install: /srv/${s}}\n`;
  }
  writeFileSync(join(ws, 'bake.yaml'), yaml);
  mkdirSync(join(ws, 'recipes'));
  writeFileSync(join(ws, 'recipes', 'duo.yaml'), 'base: scratch\nservices: [s1, s2]\n');
  bake(['-C', ws, 'commit', '--all']);
  bake(['-C', ws, 'build', 'duo']);
  const server = spawn(process.execPath, [bakeBin, '-C', ws, 'serve', '--no-auth', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(new URL(JSON.parse(String(d)).url).port))));
  try {
    const statusBody = JSON.stringify({ command: 'status', options: {} });
    const statusRate = await rate(() => post(port, '/v1/commands', statusBody));
    const localStatus = await rate(() => spawnAsync(process.execPath, [bakeBin, '-C', ws, '--json', 'status']));

    // An unchanged commit: the service unpacks the upload once, then answers from the manifest.
    const env = { ...process.env, BAKE_SERVICE: `http://127.0.0.1:${port}` };
    await spawnAsync(process.execPath, [bakeBin, '-C', ws, 'commit', 's1', '--from', join(ws, 'services', 's1')], { env });
    const clientCommit = await rate(() =>
      spawnAsync(process.execPath, [bakeBin, '-C', ws, '--json', 'commit', 's1', '--from', join(ws, 'services', 's1')], { env }),
    );
    const localCommit = await rate(() =>
      spawnAsync(process.execPath, [bakeBin, '-C', ws, '--json', 'commit', 's1', '--from', join(ws, 'services', 's1')]),
    );

    // A real bake (new content each round), locally and through the service.
    const times = { local: 0, service: 0 };
    for (let round = 0; round < 3; round++) {
      for (const mode of ['local', 'service']) {
        writeFileSync(join(ws, 'services', 's2', 'data'), `${mode} ${round}\n`.repeat(100_000));
        const modeEnv = mode === 'service' ? env : process.env;
        await spawnAsync(process.execPath, [bakeBin, '-C', ws, 'commit', 's2', '--from', join(ws, 'services', 's2')], { env: modeEnv });
        const start = performance.now();
        const run = await spawnAsync(process.execPath, [bakeBin, '-C', ws, 'build', 'duo'], { env: modeEnv });
        if (run.code !== 0) throw new Error(run.stderr);
        times[mode] += (performance.now() - start) / 1000 / 3;
      }
    }
    report(`bake serve: ${CLIENTS} concurrent clients for ${SECONDS} s each`, [
      [
        'status via the service API',
        `${statusRate.toFixed(0)} req/s (local bake processes: ${localStatus.toFixed(0)}/s, ${(statusRate / localStatus).toFixed(1)}×)`,
      ],
      [
        'unchanged commit via bake --service (client process + upload)',
        `${clientCommit.toFixed(0)}/s (local: ${localCommit.toFixed(0)}/s)`,
      ],
      ['bake build, local', fmt(times.local)],
      ['bake build through the service', `${fmt(times.service)} (overhead ${((times.service - times.local) * 1000).toFixed(0)} ms)`],
    ]);
  } finally {
    server.kill();
    tmp.cleanup();
  }
}
