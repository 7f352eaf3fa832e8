import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { workspacePaths } from '../config/workspace-paths.js';
import { updateManifest } from '../manifest/manifest-file.js';
import type { RemoteCommand } from './requests.js';

/** A request the service is running: what `GET /v1/queue` lists and what an in-flight marker holds. */
export interface Job {
  id: string;
  command: RemoteCommand;
  /** The typed options as the caller sent them (uploads by digest). */
  options: unknown;
  /** The request as a person would have typed it: `commit s1`. */
  argv: string[];
  /** Who it is recorded as. */
  actor: string;
  startedAt: string;
  state: string;
}

/** The in-flight markers of one workspace's service. */
export interface Inflight {
  mark(job: Job): Promise<void>;
  clear(job: Job): Promise<void>;
}

/**
 * Records as interrupted every request a previous service process left a marker for (it died
 * while they ran: they are failed, never current, since a build is only recorded when complete),
 * then returns the markers for this process's requests.
 */
export async function startInflight(workspace: string): Promise<Inflight> {
  const dir = workspacePaths(workspace).inflight;
  await reportInterrupted(workspace, dir);
  const file = (job: Job) => join(dir, `${job.id}.json`);
  return {
    async mark(job) {
      await mkdir(dir, { recursive: true });
      await writeFile(file(job), JSON.stringify(job));
    },
    async clear(job) {
      await rm(file(job), { force: true });
    },
  };
}

async function reportInterrupted(workspace: string, dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const jobs: { argv: string[]; request?: { command: string; options: unknown; actor: string }; startedAt: string }[] = [];
  for (const name of names) {
    try {
      const job = JSON.parse(await readFile(join(dir, name), 'utf8')) as Partial<Job>;
      const known = typeof job.command === 'string' && typeof job.actor === 'string';
      const request = known ? { command: String(job.command), options: job.options ?? {}, actor: String(job.actor) } : undefined;
      const startedAt = typeof job.startedAt === 'string' ? job.startedAt : '';
      jobs.push({ argv: Array.isArray(job.argv) ? job.argv : [], ...(request && { request }), startedAt });
    } catch {
      // a marker cut short by the crash: its request is unknown, but it was interrupted all the same
      jobs.push({ argv: [], startedAt: '' });
    }
  }
  if (jobs.length === 0) return;
  await updateManifest(workspacePaths(workspace).manifest, { purpose: 'record interrupted service requests' }, async (manifest) => {
    const at = new Date().toISOString();
    manifest.interrupted = [...(manifest.interrupted ?? []), ...jobs.map((j) => ({ ...j, detectedAt: at, status: 'failed' as const }))];
    return { result: undefined, write: true };
  });
  for (const name of names) await rm(join(dir, name), { force: true });
}
