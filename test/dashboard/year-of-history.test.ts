import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/repo.js';
import { launchBrowser, openPage, requireBrowser, seeText, type WatchedPage } from './browser.js';
import { startServe, type ServeProcess } from './service-process.js';
import { writeYearOfHistory, YEAR } from './year-of-history.js';

// A year of history — 20,000 versions, 5,000 builds — and the page still paints its first view,
// data included, in under a second, and pages through the rest.
const browser = requireBrowser();
const FIRST_PAINT_MS = 1000;

describe.skipIf(browser.skip)('the dashboard with a year of history', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  let service: ServeProcess;
  let chrome: Browser;
  let w: WatchedPage | undefined;

  beforeAll(async () => {
    ws = await tempDir('dashboard-year');
    await writeYearOfHistory(ws.dir);
    service = await startServe(ws.dir);
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
    await ws?.cleanup();
  });

  it('paints the environments, with their data, in under a second', async () => {
    // The service has shown the page before (it keeps a view's answer while the manifest stays the
    // same file); the browser has not (a new context: no cache, no storage but the token).
    const warm = await openPage(chrome, { token: service.tokens.read });
    await warm.page.goto(service.url);
    await seeText(warm, 'section[data-env="prod"]', 'Release');
    const cold = await warm.page.evaluate(() => performance.getEntriesByName('bake:first-data')[0]?.startTime);
    console.log(`year of history, the service's first answer: environments drawn at ${cold?.toFixed(0)} ms`);
    warm.check();
    await warm.close();

    w = await openPage(chrome, { token: service.tokens.read });
    await w.page.goto(service.url);
    await seeText(w, 'section[data-env="prod"]', 'Release');
    const timing = await w.page.evaluate(() => {
      const paint = performance.getEntriesByName('first-contentful-paint')[0]?.startTime;
      const data = performance.getEntriesByName('bake:first-data')[0]?.startTime;
      return { paint, data };
    });
    console.log(`year of history: first contentful paint ${timing.paint?.toFixed(0)} ms, environments drawn ${timing.data?.toFixed(0)} ms`);
    expect(timing.paint).toBeDefined();
    expect(timing.paint).toBeLessThan(FIRST_PAINT_MS);
    expect(timing.data).toBeDefined();
    expect(timing.data).toBeLessThan(FIRST_PAINT_MS);
  });

  it('pages through 20,000 versions, 5,000 builds and the whole log, a page at a time', async () => {
    w = await openPage(chrome, { token: service.tokens.read, width: 390, height: 844 });
    await w.page.goto(`${service.url}/#/services?service=svc03`);
    const per = YEAR.versions / YEAR.services;
    await seeText(w, '.pager-summary', `1–20 of ${per.toLocaleString('en-US')} versions`);
    expect(await w.page.locator('.versions tbody tr').first().getAttribute('data-version')).toBe(String(per));
    // By keyboard: focus the link and press Enter.
    await w.page.getByRole('link', { name: 'Older →' }).focus();
    await w.page.keyboard.press('Enter');
    await seeText(w, '.pager-summary', `21–40 of ${per.toLocaleString('en-US')} versions`);
    expect(await w.page.locator('.versions tbody tr').first().getAttribute('data-version')).toBe(String(per - 20));
    // At 390 px the service list is a labelled select.
    await w.page.getByLabel('Service', { exact: true }).selectOption('svc07');
    await seeText(w, '.versions h2', 'svc07');

    // At 390 px nothing is wider than the screen (wide tables scroll inside their own box).
    expect(await w.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await w.page.getByRole('link', { name: 'Builds', exact: true }).click();
    await seeText(w, '.pager-summary', `of ${YEAR.builds.toLocaleString('en-US')} builds`);
    expect(await w.page.locator('.build').count()).toBe(20);
    expect(await w.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await w.page.getByRole('link', { name: 'History', exact: true }).click();
    await seeText(w, '.pager-summary', 'events');
    await w.page.getByLabel('Actor').selectOption('release-bot (ci)');
    const summary = await seeText(w, '.pager-summary', /of 5\d\d events/);
    expect(summary).toMatch(/1–20 of 5\d\d events/);
    const documentSize = await w.page.evaluate(() => document.getElementsByTagName('*').length);
    expect(documentSize).toBeLessThan(2000);
  });
});
