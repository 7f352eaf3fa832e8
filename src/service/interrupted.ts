import type { VersionManifest } from '../manifest/model.js';
import { updateManifest } from '../store/manifest-access.js';

/** One request recorded as failed because the process running it died. */
export type InterruptedRecord = NonNullable<VersionManifest['interrupted']>[number];

/**
 * The record of a request a dead process left a marker for, from the marker's text (a Job, see
 * inflight.ts). A marker cut short by the crash names no request, but it was interrupted all the
 * same; `where` adds the request's id and replica when they are known apart from the text.
 */
export function interruptedRecord(
  text: string | undefined,
  detectedAt: string,
  where: { id?: string; replica?: string } = {},
): InterruptedRecord {
  let job: Record<string, unknown> = {};
  try {
    const parsed: unknown = text === undefined ? undefined : JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) job = parsed as Record<string, unknown>;
  } catch {
    // unreadable: recorded without its request
  }
  const known = typeof job['command'] === 'string' && typeof job['actor'] === 'string';
  const request = known ? { command: String(job['command']), options: job['options'] ?? {}, actor: String(job['actor']) } : undefined;
  const id = where.id ?? (typeof job['id'] === 'string' ? job['id'] : undefined);
  return {
    ...(id !== undefined && { id }),
    ...(where.replica !== undefined && { replica: where.replica }),
    argv: Array.isArray(job['argv']) ? job['argv'].map(String) : [],
    ...(request && { request }),
    startedAt: typeof job['startedAt'] === 'string' ? job['startedAt'] : '',
    detectedAt,
    status: 'failed',
  };
}

/**
 * Appends the records to the manifest's `interrupted` list in one write, skipping every one whose
 * request id is there already: replicas that notice the same dead request at the same moment meet
 * at the store's write lock, and the second finds the first one's record, so each is recorded
 * exactly once. Resolves with how many were added (no write when none).
 */
export async function recordInterrupted(workspace: string, records: readonly InterruptedRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  return updateManifest(workspace, { purpose: 'record interrupted service requests' }, async (manifest) => {
    const known = new Set((manifest.interrupted ?? []).flatMap((r) => (r.id === undefined ? [] : [r.id])));
    const fresh = records.filter((r) => r.id === undefined || !known.has(r.id));
    if (fresh.length === 0) return { result: 0, write: false };
    manifest.interrupted = [...(manifest.interrupted ?? []), ...fresh];
    return { result: fresh.length, write: true };
  });
}
