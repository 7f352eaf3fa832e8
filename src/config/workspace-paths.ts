import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';

/** Where a workspace keeps its state. `.bake/` is created on first write, never by reads. */
export interface WorkspacePaths {
  dir: string;
  bakeDir: string;
  manifest: string;
  store: string;
  locks: string;
  work: string;
  /** Where each big layer's body index is kept (src/layer/layer-bodies.ts), one JSON file per layer digest. */
  layerBodies: string;
  /** Trees uploaded to `bake serve`, one directory per digest (`<64 hex>/`). */
  uploads: string;
  /** `bake serve`'s markers of the requests it is running. */
  inflight: string;
}

export function workspacePaths(dir: string): WorkspacePaths {
  const bakeDir = join(dir, '.bake');
  return {
    dir,
    bakeDir,
    manifest: join(bakeDir, 'manifest.json'),
    store: join(bakeDir, 'store'),
    locks: join(bakeDir, 'locks'),
    work: join(bakeDir, 'work'),
    layerBodies: join(bakeDir, 'work', 'layer-bodies'),
    uploads: join(bakeDir, 'uploads'),
    inflight: join(bakeDir, 'service', 'inflight'),
  };
}

/** Who is acting, recorded with every write: BAKE_ACTOR, else user@host. */
export function currentActor(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['BAKE_ACTOR'];
  if (fromEnv) return fromEnv;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep 'unknown'.
  }
  return `${user}@${hostname()}`;
}
