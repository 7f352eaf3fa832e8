import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { startRegistry } from '../helpers/registry.js';
import { cloneRepo, shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { launchBrowser, openPage, requireBrowser, seeText, until, type WatchedPage } from './browser.js';
import { startServe, type ServeProcess } from './service-process.js';

// The dashboard as a team lead watches it: `bake serve` on the service host's checkout, the page
// open in a browser, and CI jobs on other clones running bake against the service. What they
// record shows up on the open page, without a reload.
const tools = requireTools('git', 'docker-registry');
const browser = requireBrowser();
const DOCS = join(__dirname, '..', '..', 'docs');

describe.skipIf(tools.skip || browser.skip)('the dashboard, live', () => {
  let origin: Repo;
  let host: Repo;
  let runner: Repo;
  let late: Repo;
  let service: ServeProcess;
  let chrome: Browser;
  let w: WatchedPage | undefined;

  /** `bake` in a CI runner's checkout, through the service. */
  const ci = (repo: Repo, args: string[], token = service.tokens.write) =>
    bake(['--json', ...args], { cwd: repo.dir, env: { BAKE_SERVICE: service.url, BAKE_SERVICE_TOKEN: token, BAKE_ACTOR: 'ci-job' } });
  const change = async (repo: Repo, service_: string, line: string, date: string) => {
    await appendFile(join(repo.dir, 'services', service_, 'VERSION'), `${line}\n`);
    await repo.commitAll(line, date);
  };
  const view = async (name: string) => {
    if (!w) throw new Error('no page');
    await w.page.getByRole('link', { name, exact: true }).click();
    await seeText(w, 'main h1', name === 'Refusals' ? 'Refusals and revocations' : name);
  };

  beforeAll(async () => {
    origin = await shopRepo({ base: false });
    host = await cloneRepo(origin.dir);
    runner = await cloneRepo(origin.dir);
    late = await cloneRepo(origin.dir);
    service = await startServe(host.dir);
    chrome = await launchBrowser();
  });
  afterEach(async () => {
    w?.check();
    await w?.close();
    w = undefined;
  });
  afterAll(async () => {
    await chrome?.close();
    await service?.stop();
    await Promise.all([origin, host, runner, late].map((r) => r?.cleanup()));
  });

  it('shows the versions, builds and releases a clone records on the command line as they happen, without a reload', async () => {
    w = await openPage(chrome);
    await w.page.goto(service.url);
    await w.page.getByLabel('Token').fill(service.tokens.read);
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await seeText(w, '.connection', 'Live');
    await seeText(w, '.who', 'viewer · read-only');
    await w.page.evaluate(() => {
      (window as unknown as { kept: string }).kept = 'the same page';
    });

    await view('Services');
    await seeText(w, 'main', 'No version was committed yet');
    const commit = await ci(runner, ['commit', '--all']);
    expect(commit.exitCode, commit.stderr).toBe(0);
    await seeText(w, '.service-list', /cart\s*v1/);
    await seeText(w, '.versions tbody', 'v1');

    await view('Builds');
    const build = await ci(runner, ['build', 'shop']);
    expect(build.exitCode, build.stderr).toBe(0);
    const card = await seeText(w, '.build', 'shop:1');
    expect(card).toContain(build.json.builds[0].digest.slice(0, 19));
    expect(card).toMatch(/cart\s*v1/);
    expect(card).toContain('yes: the same versions bake to this digest anywhere');
    expect(card).toMatch(/Pushed\s*nowhere/);
    const registry = await startRegistry();
    try {
      const push = await bake(['-C', host.dir, '--json', 'push', 'shop', `${registry.address}/shop`]);
      expect(push.exitCode, push.stderr).toBe(0);
      await seeText(w, '.build', `${registry.address}/shop@sha256:`);
    } finally {
      await registry.stop();
    }

    await view('Environments');
    const release = await ci(runner, ['release', 'shop', '--env', 'prod']);
    expect(release.exitCode, release.stderr).toBe(0);
    const prod = await seeText(w, 'section[data-env="prod"]', 'Release 1');
    expect(prod).toContain('shop:1');
    expect(prod).toMatch(/released/);

    await view('History');
    await seeText(w, '.timeline', 'release shop:1 → prod');
    await w.page.getByLabel('Service').selectOption('cart');
    // Only what concerns cart: its commit, and the build, push and release that hold it; web's commit is gone.
    await seeText(w, '.pager-summary', 'of 4 events');
    const events = await w.page.locator('.timeline .event').allTextContents();
    expect(events).toHaveLength(4);
    for (const what of ['commit cart v1', 'build shop:1', 'push shop:1', 'release shop:1 → prod']) {
      expect(
        events.some((e) => e.includes(what)),
        what,
      ).toBe(true);
    }
    expect(await w.page.evaluate(() => (window as unknown as { kept?: string }).kept)).toBe('the same page');
  });

  it('shows a stale release and a commit from a checkout that is behind, refused on the command line, with both versions and the fix; and a revoked version', async () => {
    w = await openPage(chrome, { token: service.tokens.read });
    await w.page.goto(`${service.url}/#/refusals`);
    await seeText(w, '.connection', 'Live');
    await seeText(w, 'main', 'Nothing was refused');

    await change(runner, 'cart', 'cart 2: the runner team', '2026-01-03T00:00:00Z');
    expect((await ci(runner, ['commit', 'cart'])).exitCode).toBe(0);
    // The image the team baked before cart v2 exists, released now: the stale-view race.
    const stale = await ci(runner, ['release', 'shop', '--env', 'dev', '--build', '1']);
    expect(stale.exitCode).toBe(3);
    expect(stale.json.error).toMatchObject({ kind: 'stale', service: 'cart', have: 1, want: 2 });
    const refusal = await seeText(w, '.refusal', 'Release of shop:1 to dev refused');
    expect(refusal).toContain('stale');
    expect(refusal).toMatch(/the build holds v1; the latest is v2/);
    expect(refusal).toMatch(/v2 committed by Shop Team <team@shop\.invalid>/);
    expect(refusal).toContain('rebake it with the newer version (bake build shop), or release it anyway with --allow-stale');

    // Another clone that never pulled cart v2 tries to record its own cart change.
    await change(late, 'cart', 'cart 2: the late team', '2026-01-04T00:00:00Z');
    const behind = await ci(late, ['commit', 'cart']);
    expect(behind.exitCode).toBe(3);
    const kind = behind.json.error.kind as string;
    expect(['behind', 'diverged']).toContain(kind);
    const commitRefusal = await seeText(w, '.refusal', 'Commit of cart refused');
    expect(commitRefusal).toContain(kind);
    expect(commitRefusal).toContain(behind.json.error.fix);

    await view('Services');
    await w.page.getByRole('navigation', { name: 'Services' }).getByRole('link', { name: /cart/ }).click();
    const attempt = await seeText(w, '.versions tr.attempt', `refused (${kind})`);
    expect(attempt).toContain('branched off v2');
    const rows = await w.page
      .locator('.versions tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-version') ?? 'attempt'));
    expect(rows).toEqual(['attempt', '2', '1']);
    await seeText(w, '.versions tr[data-version="1"]', 'prod');
    await w.page.screenshot({ path: join(DOCS, 'dashboard-services.png') });

    // A version found bad later: the page says who revoked it and why, what to use, and what still holds it.
    await view('Refusals');
    const revoke = await ci(runner, ['revoke', 'cart', '1', '--reason', 'leaks session cookies']);
    expect(revoke.exitCode, revoke.stderr).toBe(0);
    const revoked = await seeText(w, '.revoked-version', 'cart v1 is revoked');
    expect(revoked).toContain('leaks session cookies');
    expect(revoked).toContain('Use v2 instead');
    expect(revoked).toContain('prod (release 1, shop:1)');
  });

  it('says "connection lost, retrying" while the event stream is gone, and comes back by itself', async () => {
    w = await openPage(chrome, { token: service.tokens.read });
    // The stream answers and ends at once, as it does when the service restarts.
    await w.page.route('**/v1/events', (route) => route.fulfill({ status: 200, contentType: 'text/event-stream', body: '' }));
    await w.page.goto(service.url);
    const lost = await seeText(w, '.connection', 'Connection lost, retrying');
    expect(lost).toMatch(/retrying/);
    await w.page.unroute('**/v1/events');
    await seeText(w, '.connection', 'Live', 30_000);
    await change(runner, 'web', 'web 2', '2026-01-05T00:00:00Z');
    expect((await ci(runner, ['commit', 'web'])).exitCode).toBe(0);
    await view('Services');
    await until(w, 'web v2 in the list', async () => (await w?.page.locator('.service-list').textContent())?.match(/web\s*v2/));
  });
});
