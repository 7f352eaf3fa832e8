import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium: the browser these tests drive (`.ci/run` installs it). */
export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether the browser tests can run: with CI=true a missing chromium THROWS (the file fails),
 * elsewhere it warns loudly and skips, like requireTools.
 */
export function requireBrowser(): { skip: boolean } {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return { skip: false };
  } catch {
    const reason = `missing ${CHROMIUM} — apt-get install -y chromium`;
    if (process.env['CI'] === 'true') throw new Error(`CI=true and the dashboard's browser tests cannot run: ${reason}`);
    console.warn(`\n*** SKIPPING the dashboard's browser tests: ${reason} ***\n`);
    return { skip: true };
  }
}

/** Starts headless chromium. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** A page whose console is watched: the first error (a console error, an uncaught exception, a CSP violation) fails the test. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Throws the first console error seen so far, if any. */
  check(): void;
  close(): Promise<void>;
}

/**
 * Opens a fresh context (its own sessionStorage) at `width`×`height`, with `token` already in the
 * tab's storage when given (as if the person had signed in before), and watches its console.
 */
export async function openPage(browser: Browser, options: { width?: number; height?: number; token?: string } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 900 } });
  if (options.token) {
    await context.addInitScript((token: string) => sessionStorage.setItem('bake.dashboard.token', token), options.token);
  }
  const page = await context.newPage();
  let first: string | undefined;
  page.on('console', (message) => {
    if (message.type() === 'error') first ??= `console error: ${message.text()} (${message.location().url})`;
  });
  page.on('pageerror', (error) => {
    first ??= `uncaught in the page: ${error.message}`;
  });
  return {
    page,
    context,
    check() {
      if (first) throw new Error(first);
    },
    close: () => context.close(),
  };
}

/**
 * Polls `probe` until it returns something other than undefined/false, failing at once on the
 * page's first console error, or after `timeoutMs` saying what was awaited.
 */
export async function until<T>(w: WatchedPage, what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    w.check();
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The visible text of the first element matching `selector`, or undefined when there is none. */
export async function textOf(page: Page, selector: string): Promise<string | undefined> {
  const found = page.locator(selector).first();
  return (await found.count()) > 0 ? ((await found.textContent()) ?? '') : undefined;
}

/** Waits until the element matching `selector` contains `text`; resolves with its whole text. */
export function seeText(w: WatchedPage, selector: string, text: string | RegExp, timeoutMs?: number): Promise<string> {
  return until(
    w,
    `${selector} to show ${String(text)}`,
    async () => {
      const all = await w.page.locator(selector).allTextContents();
      return all.find((t) => (typeof text === 'string' ? t.includes(text) : text.test(t)));
    },
    timeoutMs,
  );
}

/** Signs in on the token form. */
export async function signIn(w: WatchedPage, token: string): Promise<void> {
  await w.page.getByLabel('Token').fill(token);
  await w.page.getByRole('button', { name: 'Sign in' }).click();
  await seeText(w, '.connection', 'Live');
}
