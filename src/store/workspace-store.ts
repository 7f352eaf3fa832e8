import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { workspacePaths } from '../config/workspace-paths.js';
import { InputError } from '../util/errors.js';
import { FileStore } from './file-store.js';
import type { ManifestStore } from './manifest-store.js';
import { RecordStore } from './record-store.js';

/**
 * Which store a workspace's manifest lives in, opened once per process:
 * 1. `BAKE_DATABASE_URL`, else bake.yaml's `database:` — `postgres://…` (shared by many hosts),
 *    `sqlite` or `sqlite:PATH`, `json` or `json:PATH` (paths relative to the workspace);
 * 2. else the embedded SQLite file `.bake/state.db` — except in a workspace made before it, which
 *    has `.bake/manifest.json` and no `state.db`: that keeps its JSON file until `bake migrate`.
 */
export async function workspaceStore(workspace: string, env: NodeJS.ProcessEnv = process.env): Promise<ManifestStore> {
  const location = storeLocation(workspace, env);
  const key = `${workspace}\u0000${location.url}`;
  let store = open.get(key);
  if (!store) {
    store = openStore(location);
    open.set(key, store);
    store.catch(() => open.delete(key));
  }
  return store;
}

/** Closes every store this process opened (connection pools would otherwise keep it alive). */
export async function closeWorkspaceStores(): Promise<void> {
  const stores = [...open.values()];
  open.clear();
  await Promise.all(stores.map(async (s) => (await s.catch(() => undefined))?.close()));
}

export interface StoreLocation {
  kind: 'sqlite' | 'json' | 'postgres';
  /** A file path, or the database URL. */
  url: string;
  /** Where it was chosen: `BAKE_DATABASE_URL`, `bake.yaml database`, or `default`. */
  from: string;
}

const open = new Map<string, Promise<ManifestStore>>();

/** The store a workspace uses, without opening it. Throws InputError for a setting bake cannot use. */
export function storeLocation(workspace: string, env: NodeJS.ProcessEnv = process.env): StoreLocation {
  const paths = workspacePaths(workspace);
  const fromEnv = env['BAKE_DATABASE_URL'];
  if (fromEnv !== undefined && fromEnv !== '') return parseSetting(workspace, fromEnv, 'BAKE_DATABASE_URL');
  const fromFile = databaseSetting(join(workspace, 'bake.yaml'));
  if (fromFile !== undefined) return parseSetting(workspace, fromFile, 'bake.yaml database');
  const sqlite = join(paths.bakeDir, 'state.db');
  if (!existsSync(sqlite) && existsSync(paths.manifest)) return { kind: 'json', url: paths.manifest, from: 'default' };
  return { kind: 'sqlite', url: sqlite, from: 'default' };
}

function parseSetting(workspace: string, value: string, from: string): StoreLocation {
  const path = (p: string, fallback: string) => (p === '' ? fallback : isAbsolute(p) ? p : join(workspace, p));
  const bakeDir = workspacePaths(workspace).bakeDir;
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value, from };
  const m = /^(sqlite|json)(?::(.*))?$/.exec(value);
  if (m?.[1] === 'sqlite') return { kind: 'sqlite', url: path(m[2] ?? '', join(bakeDir, 'state.db')), from };
  if (m?.[1] === 'json') return { kind: 'json', url: path(m[2] ?? '', join(bakeDir, 'manifest.json')), from };
  throw new InputError([
    {
      file: from === 'BAKE_DATABASE_URL' ? 'environment' : join(workspace, 'bake.yaml'),
      field: from === 'BAKE_DATABASE_URL' ? 'BAKE_DATABASE_URL' : 'database',
      message: `${JSON.stringify(value)} is not a store bake knows`,
      fix: 'use postgres://USER@HOST:PORT/DB, sqlite (or sqlite:PATH), or json (or json:PATH)',
    },
  ]);
}

/**
 * bake.yaml's top-level `database:` scalar, read without parsing the whole file (the workspace
 * loader validates it with everything else); undefined when absent.
 */
function databaseSetting(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^database:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#][^#\n]*?))[ \t]*(?:#.*)?$/m.exec(text);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

async function openStore(location: StoreLocation): Promise<ManifestStore> {
  if (location.kind === 'json') return new FileStore(location.url);
  if (location.kind === 'sqlite') {
    const { SqliteBackend } = await import('./sqlite-backend.js');
    return new RecordStore(new SqliteBackend(location.url), location.url);
  }
  const { PostgresBackend } = await import('./postgres-backend.js');
  return new RecordStore(new PostgresBackend(location.url), redactUrl(location.url));
}

/** A database URL with its password removed, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
