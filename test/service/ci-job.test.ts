import { execFile } from 'node:child_process';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { manifestOf } from '../helpers/manifest.js';
import { freePort } from '../helpers/registry.js';
import { cloneRepo, shopRepo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

const exec = promisify(execFile);
const tools = requireTools('git');
const ROOT = join(__dirname, '..', '..');
const TOKEN = 'c'.repeat(32);

describe.skipIf(tools.skip)('the example CI job', () => {
  it('commits what changed and bakes the affected image through the service, from a runner with its own checkout', async () => {
    const origin = await shopRepo({ base: false });
    const server = await cloneRepo(origin.dir); // the service host's workspace
    const runner = await cloneRepo(origin.dir); // a CI runner's checkout
    const port = await freePort();
    await writeFile(join(server.dir, '.tokens'), `write ${TOKEN}\n`, { mode: 0o600 }); // bake serve refuses a token file others can read
    const service = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'bake.js'), '-C', server.dir, 'serve', '--tokens', join(server.dir, '.tokens'), '--port', String(port)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => service.stdout?.once('data', resolve));
    const env = {
      ...process.env,
      BAKE_SERVICE: `http://127.0.0.1:${port}`,
      BAKE_SERVICE_TOKEN: TOKEN,
      BAKE_CLI: `${process.execPath} ${join(ROOT, 'bin', 'bake.js')}`,
      BAKE_RELEASE_ENV: 'staging',
      BAKE_RELEASE_IMAGES: 'shop',
    };
    try {
      const job = join(ROOT, 'examples', 'ci', 'bake-on-push.sh');
      const first = await exec('bash', [job], { cwd: runner.dir, env });
      expect(first.stdout).toContain('changed services: catalog cart web');
      await appendFile(join(runner.dir, 'services', 'cart', 'VERSION'), 'cart 2\n');
      await runner.commitAll('cart 2', '2026-01-09T00:00:00Z');
      const second = await exec('bash', [job], { cwd: runner.dir, env });
      expect(second.stdout).toContain('changed services: cart');
      const manifest = await manifestOf(server.dir);
      expect(manifest.services['cart']?.versions).toHaveLength(2);
      expect(manifest.services['catalog']?.versions).toHaveLength(1);
      const staging = manifest.environments['staging'];
      const live = staging?.releases.find((r) => r.id === staging.live['shop']);
      expect(live?.vector).toEqual({ catalog: 1, cart: 2, web: 1 });
      expect(JSON.parse(await readFile(join(runner.dir, 'commits.json'), 'utf8')).commits).toHaveLength(3);
    } finally {
      service.kill('SIGKILL');
      await Promise.all([origin.cleanup(), server.cleanup(), runner.cleanup()]);
    }
  });
});
