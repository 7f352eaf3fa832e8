import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { startLoad } from '../helpers/load.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { launchBrowser, openPage, requireBrowser, seeText, signIn, until, type WatchedPage } from './browser.js';
import { startServe, type ServeProcess } from './service-process.js';

// A real canary on the Docker engine, watched and finished from the page: its share and figures
// move under load, a viewer's promote is refused and changes nothing, a deployer's completes it.
// A clock of this file's own keeps its images apart from other files' on the shared engine.
process.env['SOURCE_DATE_EPOCH'] = '1700000717';
const tools = requireTools('git', 'busybox', 'docker');
const browser = requireBrowser();
const DOCS = join(__dirname, '..', '..', 'docs');
const ENV = 'cn';

describe.skipIf(tools.skip || browser.skip)('the dashboard on a canary', () => {
  let repo: Repo;
  let engine: Engine;
  let service: ServeProcess;
  let chrome: Browser;
  let w: WatchedPage | undefined;
  let router: Record<string, string> = {};
  const run = (args: string[]) => bake(['-C', repo.dir, '--json', ...args]);
  const manifest = async (): Promise<any> => manifestOf(repo.dir);
  const release = async (id: number) =>
    (await manifest()).environments[ENV].releases.find((r: { id: number }) => r.id === id) as {
      state: string;
      rollout?: { percent: number };
    };
  /** The requests the page shows for a release in the traffic table. */
  const requestsOf = async (page: WatchedPage, id: number) => {
    const text = await page.page.locator(`section[data-env="${ENV}"] .traffic tr[data-release="${id}"] .requests`).textContent();
    return Number((text ?? '').replace(/\D/g, '') || -1);
  };

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(
      join(repo.dir, 'bake.yaml'),
      yaml.replace(
        'environments:\n',
        `environments:\n  ${ENV}:\n    image: shop\n    replicas: 1\n    strategy: canary\n    canary: {percent: 20}\n`,
      ),
    );
    await repo.commitAll('a canary environment');
    service = await startServe(repo.dir);
    chrome = await launchBrowser();
    expect((await run(['build', '--commit', 'shop'])).exitCode).toBe(0);
    const first = await run(['deploy', '--env', ENV]);
    expect(first.exitCode, first.stderr).toBe(0);
    router = first.json.router;
    await appendFile(join(repo.dir, 'services', 'catalog', 'VERSION'), 'catalog canary\n');
    await repo.commitAll('catalog canary', '2026-02-01T00:00:00Z');
    expect((await run(['build', '--commit', 'shop'])).exitCode).toBe(0);
    const canary = await run(['deploy', '--env', ENV]);
    expect(canary.exitCode, canary.stderr).toBe(0);
    expect(canary.json).toMatchObject({ release: 2, state: 'probation', rollout: { percent: 20, paused: { reason: 'manual' } } });
  }, 240_000);
  afterEach(async () => {
    w?.check();
    await w?.close();
    w = undefined;
  });
  afterAll(async () => {
    await chrome?.close();
    await service?.stop();
    if (repo) await run(['down', ENV]);
    // Whatever the environment started and `down` did not remove: only this workspace's, by its label.
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    await repo?.cleanup();
  });

  it("shows the canary's steps, share and moving figures; a viewer's promote is refused and changes nothing; a deployer's completes it", async () => {
    const load = startLoad(`${router['catalog']}/version`, { concurrency: 2, maxMs: 90_000 });
    try {
      w = await openPage(chrome);
      await w.page.goto(service.url);
      await signIn(w, service.tokens.read);
      const card = `section[data-env="${ENV}"]`;
      const live = await seeText(w, `${card} .release`, 'Release 2');
      expect(live).toMatch(/probation/);
      expect(live).toMatch(/20% of traffic/);
      expect(live).toMatch(/paused \(manual\)/);
      await seeText(w, `${card} .traffic tr[data-release="2"]`, '20%');
      await seeText(w, `${card} .traffic tr[data-release="1"]`, '80%');
      const before = await until(w, 'the canary to have served requests', async () => {
        const n = await requestsOf(w as WatchedPage, 2);
        return n > 0 ? n : undefined;
      });
      await until(w, 'the canary figures to move', async () => (await requestsOf(w as WatchedPage, 2)) > before);
      // The chart draws requests per second from the readings: wait for a few seconds of them.
      await until(w, 'the live chart', async () => Number((await w?.page.locator(`${card} .chart`).getAttribute('data-points')) ?? 0) >= 4);
      expect(await w.page.locator(`${card} .chart canvas`).count()).toBe(1);
      await w.page.screenshot({ path: join(DOCS, 'dashboard-environments.png') });

      const generation = (await manifest()).generation;
      await w.page.locator(card).getByRole('button', { name: 'Promote' }).click();
      const refused = await seeText(w, `${card} .outcome`, 'Promote refused');
      expect(refused).toMatch(/needs a write token/);
      expect((await manifest()).generation).toBe(generation);
      expect(await release(2)).toMatchObject({ state: 'probation', rollout: { percent: 20 } });
      expect(await seeText(w, `${card} .release`, 'Release 2')).toMatch(/probation/);

      await w.page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(w, service.tokens.write);
      await seeText(w, '.who', 'deployer · may act');
      await w.page.locator(card).getByRole('button', { name: 'Promote' }).click();
      await seeText(w, `${card} .outcome`, 'Promote: release 2 is committed', 60_000);
      expect((await release(2)).state).toBe('committed');
      // The page follows by itself: the release is committed, and it takes all the traffic.
      await seeText(w, `${card} .release`, 'committed');
      await seeText(w, `${card} .traffic tr[data-release="2"]`, '100%');
      const history = (await manifest()).environments[ENV].changes.filter((c: { kind: string }) => c.kind === 'promote');
      expect(history.at(-1).by).toBe('deployer (dashboard)');
    } finally {
      const served = await load.stop();
      expect(served.ok).toBeGreaterThan(0);
    }
  });

  it('turns a toggle on and aborts the next canary from the page, which then shows why it stopped and the figures then', async () => {
    await appendFile(join(repo.dir, 'services', 'web', 'VERSION'), 'web canary\n');
    await repo.commitAll('web canary', '2026-02-02T00:00:00Z');
    expect((await run(['build', '--commit', 'shop'])).exitCode).toBe(0);
    const canary = await run(['deploy', '--env', ENV]);
    expect(canary.json).toMatchObject({ release: 3, state: 'probation' });

    w = await openPage(chrome, { token: service.tokens.write });
    await w.page.goto(service.url);
    const card = `section[data-env="${ENV}"]`;
    await seeText(w, `${card} .release`, 'Release 3');
    // Keyboard only: type the feature's name into its labelled field and press Enter.
    await w.page.locator(card).getByLabel('Feature').fill('new-search');
    await w.page.keyboard.press('Enter');
    await seeText(w, `${card} .toggles .outcome`, 'new-search is on in cn');
    await seeText(w, `${card} .toggles li`, 'new-search is on');

    await w.page.locator(card).getByRole('button', { name: 'Abort' }).click();
    await seeText(w, `${card} .actions .outcome`, 'Abort: release 3 withdrawn; release 2 serves again', 60_000);
    const stopped = await seeText(w, `${card} .stopped`, 'Release 3 stopped: abort');
    expect(stopped).toContain('aborted by hand');
    expect(stopped).toContain('Canary against stable');
    await seeText(w, `${card} .release`, 'Release 2');
    expect(await release(3)).toMatchObject({ state: 'rolled-back' });
  });
});
