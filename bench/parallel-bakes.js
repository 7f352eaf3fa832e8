// Issue 3's parallel-bake benchmark: four images that share no service, each with freshly
// committed changes, baked by four processes at once against the same four bakes one after
// another. Per-image locks mean disjoint images should overlap (up to the core count).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bakeBin, fmt, gitEnv, ratio, sh, spawnAsync, tempDir } from './lib.js';

const IMAGES = 4;
const SERVICES_PER_IMAGE = 2;

function workspace(dir) {
  let yaml = 'services:\n';
  mkdirSync(join(dir, 'recipes'));
  for (let i = 0; i < IMAGES; i++) {
    const members = [];
    for (let s = 0; s < SERVICES_PER_IMAGE; s++) {
      const name = `i${i}s${s}`;
      mkdirSync(join(dir, 'services', name), { recursive: true });
      yaml += `  ${name}: {source: services/${name}, install: /srv/${name}}\n`;
      members.push(name);
    }
    writeFileSync(join(dir, 'recipes', `img${i}.yaml`), `base: scratch\nservices: [${members.join(', ')}]\n`);
  }
  writeFileSync(join(dir, 'bake.yaml'), yaml);
  writeFileSync(join(dir, '.gitignore'), '.bake/\n');
  sh('git init -q -b main', { cwd: dir });
}

/** New content for every service (4 MB each), committed: every bake below has real packing to do. */
function change(dir, round) {
  for (let i = 0; i < IMAGES; i++) {
    for (let s = 0; s < SERVICES_PER_IMAGE; s++) {
      writeFileSync(join(dir, 'services', `i${i}s${s}`, 'data.bin'), randomBytes(4 << 20));
      writeFileSync(join(dir, 'services', `i${i}s${s}`, 'round'), `${round}\n`);
    }
  }
  sh(`git add -A && git commit -qm round-${round}`, { cwd: dir, env: gitEnv });
}

const bakeImage = (dir, i) => spawnAsync(process.execPath, [bakeBin, '-C', dir, 'build', '--commit', '--serialize', `img${i}`]);

export async function benchParallelBakes(report) {
  const tmp = tempDir('parallel');
  try {
    workspace(tmp.dir);
    change(tmp.dir, 0);
    let start = performance.now();
    for (let i = 0; i < IMAGES; i++) await bakeImage(tmp.dir, i);
    const serial = (performance.now() - start) / 1000;

    change(tmp.dir, 1);
    start = performance.now();
    const runs = await Promise.all(Array.from({ length: IMAGES }, (_, i) => bakeImage(tmp.dir, i)));
    const parallel = (performance.now() - start) / 1000;
    for (const r of runs) if (r.code !== 0) throw new Error(r.stderr);

    change(tmp.dir, 2);
    start = performance.now();
    const same = await Promise.all(Array.from({ length: IMAGES }, () => bakeImage(tmp.dir, 0)));
    const sameImage = (performance.now() - start) / 1000;
    for (const r of same) if (r.code !== 0) throw new Error(r.stderr);

    report(`parallel bakes: ${IMAGES} disjoint images × ${SERVICES_PER_IMAGE} services × 4 MB, --commit --serialize`, [
      ['one after another', fmt(serial)],
      ['four processes at once (disjoint images)', fmt(parallel)],
      ['speed-up from per-image locks', `${ratio(serial, parallel)} (2 cores)`],
      ['four processes on the same image (serialized by its lock)', fmt(sameImage)],
    ]);
  } finally {
    tmp.cleanup();
  }
}
