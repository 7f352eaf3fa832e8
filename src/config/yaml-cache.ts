import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { readLimitedText } from './yaml-limits.js';
import type { YamlNode } from './yaml-node.js';

/**
 * bake.yaml and recipes parsed once per content, not once per command. The yaml library needs
 * about 100 ms for a 200-service bake.yaml in a fresh process (its generators run cold), more
 * than a whole nothing-changed build; parsing is a pure function of the file's bytes, so its tree
 * is kept under the sha256 of those bytes: in this process (build --commit loads the workspace
 * twice), and, for the CLI, in a per-user cache directory next to V8's code cache, so the next
 * command (or a fresh clone of the same files) reads ~100 KB of JSON instead.
 *
 * What makes it safe: the key is the exact bytes read (never a file's stat data) plus the build
 * of the parser (`build`, the bundle's own hash, handed in by bin/bake.js: another bake never
 * meets this one's entries); only parses without problems are kept, so every error is reported
 * by the real parser with its position; a tree that JSON cannot carry exactly (binary scalars,
 * .inf, -0) is not kept; and a cache file carries the sha256 of its body, so a torn or damaged
 * one is a miss. Validation and every check against the file system still run on each load.
 */

/** Where the CLI keeps derived data (bin/bake.js checks the directory is this user's alone). */
interface PersistentCache {
  dir: string;
  /** Identifies the code that parsed: entries of another build are never read. */
  build: string;
}

/** Trees parsed in this process, as JSON (each caller gets its own copy), by content key. */
const memo = new Map<string, string>();

/** How many parsed files the per-user directory keeps; the oldest go first. */
const KEEP = 64;
const PREFIX = 'yaml-';

/**
 * Reads and parses a YAML file as readYamlFile does (same limits, same tree, same InputError for
 * every problem), from the cache when these exact bytes were parsed before.
 */
export async function readYamlFileCached(path: string, display: string): Promise<YamlNode> {
  return parseYamlTextCached(await readLimitedText(path, display), display);
}

/** Parses text already read (within the limits) as readYamlFileCached does, from the cache when it can. */
export async function parseYamlTextCached(text: string, display: string): Promise<YamlNode> {
  const persistent = persistentCache();
  const key = createHash('sha256')
    .update(`bake-yaml-tree-v1\0${persistent?.build ?? ''}\0`)
    .update(text)
    .digest('hex');
  const known = memo.get(key) ?? (persistent && (await readEntry(persistent, key)));
  if (known !== undefined) {
    memo.set(key, known);
    return JSON.parse(known) as YamlNode;
  }
  // The parser (and the yaml library under it) loads only when something must be parsed.
  const { parseYaml } = await import('./yaml-document.js');
  const tree = parseYaml(text, display);
  const json = JSON.stringify(tree);
  if (isDeepStrictEqual(JSON.parse(json), tree)) {
    memo.set(key, json);
    if (persistent) await writeEntry(persistent, key, json);
  }
  return tree;
}

function persistentCache(): PersistentCache | undefined {
  const given = (globalThis as { __bakeCache?: Partial<PersistentCache> }).__bakeCache;
  return typeof given?.dir === 'string' && typeof given.build === 'string' && given.build !== ''
    ? { dir: given.dir, build: given.build }
    : undefined;
}

/** The cached JSON for `key`, or undefined when absent, torn or damaged (the first line is the body's sha256). */
async function readEntry(cache: PersistentCache, key: string): Promise<string | undefined> {
  const text = await readFile(join(cache.dir, `${PREFIX}${key}.json`), 'utf8').catch(() => undefined);
  const newline = text?.indexOf('\n') ?? -1;
  if (text === undefined || newline !== 64) return undefined;
  const body = text.slice(newline + 1);
  return createHash('sha256').update(body).digest('hex') === text.slice(0, newline) ? body : undefined;
}

/** Atomically (temp file, rename), then prunes; a cache that cannot be written is only a slower next run. */
async function writeEntry(cache: PersistentCache, key: string, json: string): Promise<void> {
  const file = join(cache.dir, `${PREFIX}${key}.json`);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${createHash('sha256').update(json).digest('hex')}\n${json}`, { flag: 'wx', mode: 0o600 });
    await rename(tmp, file);
    await prune(cache.dir);
  } catch {
    await rm(tmp, { force: true }).catch(() => {});
  }
}

async function prune(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(PREFIX) && n.endsWith('.json'));
  if (names.length <= KEEP) return;
  const aged = await Promise.all(names.map(async (n) => ({ n, at: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
  aged.sort((a, b) => a.at - b.at);
  await Promise.all(aged.slice(0, aged.length - KEEP).map((e) => rm(join(dir, e.n), { force: true })));
}
