import { historyOf, type HistoryEvent } from '../manifest/history.js';
import { readManifest } from '../store/manifest-access.js';
import type { AppContext } from './context.js';

export interface LogOptions {
  service?: string;
  image?: string;
  env?: string;
  /** Only the newest N events. */
  limit?: number;
}

/** What `bake log --json` prints. */
export interface LogResult {
  generation: number;
  events: HistoryEvent[];
}

/** Every commit, build, release and refusal in time order, filtered. */
export async function log(ctx: AppContext, options: LogOptions = {}): Promise<LogResult> {
  const manifest = await readManifest(ctx.workspace);
  const events = historyOf(manifest, {
    ...(options.service !== undefined && { service: options.service }),
    ...(options.image !== undefined && { image: options.image }),
    ...(options.env !== undefined && { env: options.env }),
  });
  return { generation: manifest.generation, events: options.limit !== undefined ? events.slice(-options.limit) : events };
}
