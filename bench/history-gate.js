// Issue 11's benchmark: what the history gate costs (section history-gate). `bake commit --all` over 10 services with one
// changed, through the library API (dist/index.js) with and without the ancestry check
// (`checkAncestry: false` exists for this benchmark only), medians of alternating rounds; the
// proof alone (one `git merge-base --is-ancestor`, timed separately); and the CLI command as users
// run it, for scale.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bake, fmt, gitEnv, median, sh, tempDir } from './lib.js';

const SERVICES = 10;
const ROUNDS = 30;

function workspace(dir) {
  let yaml = 'services:\n';
  for (let i = 0; i < SERVICES; i++) {
    const name = `s${i}`;
    mkdirSync(join(dir, 'services', name), { recursive: true });
    for (let f = 0; f < 10; f++) writeFileSync(join(dir, 'services', name, `f${f}.txt`), `${name} ${f}\n`.repeat(1000));
    yaml += `  ${name}: {source: services/${name}, install: /srv/${name}}\n`;
  }
  writeFileSync(join(dir, 'bake.yaml'), yaml);
  writeFileSync(join(dir, '.gitignore'), '.bake\n');
  sh('git init -q -b main && git add -A && git commit -q -m initial', { cwd: dir, env: gitEnv });
}

/** One service changed and committed: the next round has exactly one new version to record. */
function changeOne(dir, round) {
  writeFileSync(join(dir, 'services', `s${round % SERVICES}`, 'f0.txt'), `round ${round}\n`);
  sh(`git commit -q -am "round ${round}"`, { cwd: dir, env: gitEnv });
}

export async function benchHistoryGate(report) {
  const { commitServices, loadWorkspace, silent } = await import('../dist/index.js');
  const { proveCheckout } = await import('../dist/history/checkout-proof.js');
  const tmp = tempDir('history-gate');
  try {
    workspace(tmp.dir);
    const ws = await loadWorkspace(tmp.dir);
    const services = [...ws.services.values()];
    const commitAll = async (checkAncestry) => {
      const start = performance.now();
      const commits = await commitServices(ws, services, { progress: silent, checkAncestry });
      const ms = performance.now() - start;
      if (commits.filter((c) => c.created).length !== 1) throw new Error('expected exactly one new version');
      return ms;
    };
    await commitServices(ws, services, { progress: silent });
    const times = { with: [], without: [] };
    for (let round = 1; round <= ROUNDS * 2; round++) {
      changeOne(tmp.dir, round);
      // Alternate, so both see the same caches and the same growing manifest.
      const check = round % 2 === 0;
      times[check ? 'with' : 'without'].push(await commitAll(check));
    }

    // The proof on its own, in the same repository: the latest version's revision against HEAD.
    const head = sh('git rev-parse HEAD', { cwd: tmp.dir }).trim();
    const previous = sh('git rev-parse HEAD~1', { cwd: tmp.dir }).trim();
    const proofs = [];
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now();
      await proveCheckout({ version: 1, revision: previous }, { top: tmp.dir, head, revision: head });
      proofs.push(performance.now() - start);
    }

    const cli = [];
    for (let round = ROUNDS * 2 + 1; round <= ROUNDS * 2 + 5; round++) {
      changeOne(tmp.dir, round);
      cli.push(bake(['-C', tmp.dir, '--json', 'commit', '--all']).seconds);
    }

    const withMs = median(times.with);
    const withoutMs = median(times.without);
    report(`history gate: bake commit --all, ${SERVICES} services, one changed (library API, medians of ${ROUNDS})`, [
      ['with the ancestry check', `${withMs.toFixed(1)} ms`],
      ['without (checkAncestry: false)', `${withoutMs.toFixed(1)} ms`],
      ['overhead', `${(withMs - withoutMs).toFixed(1)} ms (${(((withMs - withoutMs) / withoutMs) * 100).toFixed(0)}%)`],
      ['the proof alone (proveCheckout: one git merge-base)', `${median(proofs).toFixed(1)} ms`],
      ['bake commit --all as a process, with the check', fmt(median(cli))],
    ]);
  } finally {
    tmp.cleanup();
  }
}
