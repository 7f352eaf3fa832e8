import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PAGE_HEADERS } from './headers.js';

/** A file of the built page, held in memory (the whole page is a few hundred KiB). */
export interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** The built page: index.html and the files under assets/ (what `npm run build` put in dist/dashboard/). */
export interface StaticFiles {
  index: StaticFile;
  assets: ReadonlyMap<string, StaticFile>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};
/** Asset names are plain file names: nothing a request sends can name a path outside assets/. */
export const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Finds the built page: dist/dashboard/ of the package this module belongs to, whether it runs from
 * the bundle (dist/bake.cjs), from tsc's output (dist/dashboard/) or from source (src/dashboard/).
 * Resolves undefined when the page was not built (`npm run build` builds it).
 */
export async function loadStaticFiles(): Promise<StaticFiles | undefined> {
  const root = packageRoot();
  if (!root) return undefined;
  const dir = join(root, 'dist', 'dashboard');
  const index = await fileOf(join(dir, 'index.html'));
  if (!index) return undefined;
  const assets = new Map<string, StaticFile>();
  for (const entry of await readdir(join(dir, 'assets'), { withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile() || !ASSET_NAME.test(entry.name) || TYPES[extname(entry.name)] === undefined) continue;
    const file = await fileOf(join(dir, 'assets', entry.name));
    if (file) assets.set(entry.name, file);
  }
  return { index, assets };
}

/** Answers with a file of the page: 304 when the browser holds this version already. */
export function sendStatic(req: IncomingMessage, res: ServerResponse, file: StaticFile): void {
  const headers = { ...PAGE_HEADERS, 'content-type': file.type, etag: file.etag, 'cache-control': 'no-cache' };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(file.body.length) });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist', 'dashboard'))) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

async function fileOf(path: string): Promise<StaticFile | undefined> {
  const type = TYPES[extname(path)];
  if (!type) return undefined;
  const body = await readFile(path).catch(() => undefined);
  if (!body) return undefined;
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}
