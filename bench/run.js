// `npm run bench`: every benchmark, each printing its times and the ratios against the peer
// measured in the same run. Pass section names to run only some: `npm run bench -- locks`.
import { benchBakeVsDocker } from './bake-vs-docker.js';
import { benchLocks } from './locks.js';
import { benchParallelBakes } from './parallel-bakes.js';
import { benchPush } from './push.js';
import { benchDeploy } from './deploy.js';
import { benchService } from './service.js';
import { benchRevoke } from './revoke.js';
import { benchHistory } from './history.js';
import { benchHistoryGate } from './history-gate.js';
import { benchCompat } from './compat.js';
import { benchState } from './state.js';
import { benchStore } from './store.js';
import { benchCluster } from './cluster.js';

const sections = {
  bake: benchBakeVsDocker,
  locks: benchLocks,
  parallel: benchParallelBakes,
  push: benchPush,
  deploy: benchDeploy,
  service: benchService,
  revoke: benchRevoke,
  history: benchHistory,
  'history-gate': benchHistoryGate,
  compat: benchCompat,
  state: benchState,
  store: benchStore,
  cluster: benchCluster,
};

function report(title, rows) {
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n== ${title}\n`);
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
}

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  await run(report);
}
