// A separate OS process that runs a random sequence of bake commands on one workspace, through
// the same entry point as the CLI, and prints one JSON line per command: what it did, its exit
// code, and how many manifest writes it made. Usage: node worker.mjs WS ID OPS SEED SERVICES IMAGES
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../../dist/cli/main.js';

const [ws, id, opsRaw, seedRaw, servicesRaw, imagesRaw] = process.argv.slice(2);
const services = servicesRaw.split(',');
const images = imagesRaw.split(',');
let seed = Number(seedRaw);
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = (list) => list[Math.floor(random() * list.length)];

async function bake(args) {
  let out = '';
  const stdout = new Writable({
    write(chunk, _enc, cb) {
      out += chunk;
      cb();
    },
  });
  const stderr = new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  const code = await main(['-C', ws, '--json', ...args], { stdout, stderr });
  return { code, json: out ? JSON.parse(out) : undefined };
}

for (let op = 0; op < Number(opsRaw); op++) {
  const kind = pick(['commit', 'commit', 'build', 'release']);
  let line;
  if (kind === 'commit') {
    const service = pick(services);
    const from = join(ws, '.work', `${id}-${op}`);
    mkdirSync(from, { recursive: true });
    writeFileSync(join(from, 'VERSION'), `${service} by worker ${id} op ${op}\n`);
    const { code, json } = await bake(['commit', service, '--from', from]);
    const c = json?.commits?.[0];
    line = { kind, code, service, version: c?.version, digest: c?.digest, writes: code === 0 && c?.created ? 1 : 0 };
  } else if (kind === 'build') {
    const image = pick(images);
    const { code, json } = await bake(['build', image]);
    // A build still stale after its rebakes exits 3 (kind stale), but it was recorded all the same.
    const recorded = code === 0 || json?.error?.kind === 'stale';
    const b = json?.builds?.[0] ?? json?.error?.builds?.[0];
    line = {
      kind,
      code,
      image,
      build: b?.build,
      writes: recorded ? (b.reused ? 0 : 1) + b.rebaked.filter((r) => !r.reused).length : 0,
      error: json?.error,
    };
  } else {
    const image = pick(images);
    const { code, json } = await bake(['release', image, '--env', 'stress']);
    // A refusal is recorded (one write) and exits 3; "no builds yet" is exit 2 and writes nothing.
    line = { kind, code, image, writes: code === 0 ? (json.unchanged ? 0 : 1) : code === 3 ? 1 : 0, error: json?.error };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
