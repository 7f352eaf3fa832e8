import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { main } from '../cli/main.js';
import { REMOTE_USE_CASES as REMOTE_COMMANDS } from '../app/use-cases.js';
import { updateManifest } from '../manifest/manifest-file.js';
import { workspacePaths } from '../config/workspace-paths.js';
import { READ_COMMANDS, roleOf, type Role } from './tokens.js';
import { receiveUpload, UploadError } from './uploads.js';

/**
 * `bake serve`: one process owns a workspace's manifest, lock and store, and runs commit, build,
 * release, push, status, log and gc for clients, through the same code, locks and race gate as
 * the CLI. Requests are independent; those that touch the same image meet at the same locks,
 * unrelated ones run in parallel. Output streams back as NDJSON (progress lines, then the exit
 * code and the command's stdout/stderr), so a client prints exactly what a local run would.
 * A client that disconnects does not stop its command.
 */
export interface ServiceOptions {
  workspace: string;
  port: number;
  /** Bearer tokens and their roles; undefined only with --no-auth. */
  tokens: Map<string, Role> | undefined;
  maxUploadBytes?: number;
}

const MAX_JSON_BYTES = 64 * 1024;

interface Running {
  id: string;
  argv: string[];
  startedAt: string;
  state: string;
}

export async function startService(options: ServiceOptions): Promise<{ port: number; close(): Promise<void> }> {
  const inflightDir = join(workspacePaths(options.workspace).bakeDir, 'service', 'inflight');
  await reportInterrupted(options.workspace, inflightDir);
  const running = new Map<string, Running>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof UploadError ? 400 : 500;
      if (!res.headersSent) send(res, status, { error: { kind: (error as { kind?: string }).kind ?? 'service', message: (error as Error).message } });
      else res.end();
    });
  });
  server.requestTimeout = 15 * 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/v1/health') return send(res, 200, { ok: true });
    const role = options.tokens ? roleOf(options.tokens, req.headers.authorization) : 'write';
    if (!role) throw new HttpError(401, 'a bearer token is required (BAKE_SERVICE_TOKEN)');
    if (req.method === 'GET' && url.pathname === '/v1/queue') return send(res, 200, { running: [...running.values()] });
    if (req.method === 'POST' && url.pathname === '/v1/uploads') {
      if (role !== 'write') throw new HttpError(403, 'uploading needs a write token');
      const dir = await receiveUpload(options.workspace, url.searchParams.get('digest') ?? '', req, options.maxUploadBytes ?? 1 << 30);
      return send(res, 200, { from: `@upload:${dir.split('/').pop()}` });
    }
    if (req.method === 'POST' && url.pathname === '/v1/commands') {
      const argv = await readArgv(req);
      const command = argv.find((a) => !a.startsWith('-'));
      if (!command || !REMOTE_COMMANDS.has(command)) throw new HttpError(400, `the service runs ${[...REMOTE_COMMANDS].join(', ')}; not ${command ?? 'nothing'}`);
      if (role === 'read' && !READ_COMMANDS.has(command)) throw new HttpError(403, `${command} needs a write token`);
      return runCommand(await resolveUploads(argv), command, res);
    }
    throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`);
  }

  async function resolveUploads(argv: string[]): Promise<string[]> {
    return Promise.all(
      argv.map(async (arg, i) => {
        if (argv[i - 1] !== '--from') return arg;
        const match = /^@upload:([a-f0-9]{64})$/.exec(arg);
        if (!match) throw new HttpError(400, '--from must name an upload (@upload:<hex>): the service does not read clients\' file systems');
        const dir = join(workspacePaths(options.workspace).bakeDir, 'uploads', match[1] ?? '');
        await readdir(dir).catch(() => {
          throw new HttpError(400, `no upload ${arg}; POST it to /v1/uploads first`);
        });
        return dir;
      }),
    );
  }

  async function runCommand(argv: string[], command: string, res: ServerResponse): Promise<void> {
    const job: Running = { id: randomUUID(), argv, startedAt: new Date().toISOString(), state: 'running' };
    running.set(job.id, job);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const line = (value: unknown) => {
      if (!res.destroyed) res.write(`${JSON.stringify(value)}\n`);
    };
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) => new Writable({ write: (chunk, _e, cb) => (append(String(chunk)), cb()) });
    const marker = join(inflightDir, `${job.id}.json`);
    if (command === 'build' || command === 'commit') {
      await mkdir(inflightDir, { recursive: true });
      await writeFile(marker, JSON.stringify(job));
    }
    try {
      const exit = await main(['-C', options.workspace, ...argv], {
        stdout: sink((s) => (stdout += s)),
        stderr: sink((s) => (stderr += s)),
        progress: (event) => {
          job.state = event.kind === 'wait' ? `waiting: ${event.message}` : 'running';
          line({ progress: event });
        },
      });
      line({ exit, stdout, stderr });
    } finally {
      running.delete(job.id);
      await rm(marker, { force: true });
      res.end();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * Builds and commits that were running when a previous service process died left a marker; they
 * are recorded as interrupted (never as current: a build is only ever recorded when complete).
 */
async function reportInterrupted(workspace: string, inflightDir: string): Promise<void> {
  const names = await readdir(inflightDir).catch(() => [] as string[]);
  const jobs: Running[] = [];
  for (const name of names) {
    try {
      jobs.push(JSON.parse(await readFile(join(inflightDir, name), 'utf8')) as Running);
    } catch {
      // a marker cut short by the crash: its request is unknown, but it was interrupted all the same
      jobs.push({ id: name.replace(/\.json$/, ''), argv: [], startedAt: '', state: 'unknown' });
    }
  }
  if (jobs.length === 0) return;
  await updateManifest(workspacePaths(workspace).manifest, { purpose: 'record interrupted service requests' }, async (manifest) => {
    const at = new Date().toISOString();
    manifest.interrupted = [...(manifest.interrupted ?? []), ...jobs.map((j) => ({ argv: j.argv, startedAt: j.startedAt, detectedAt: at, status: 'failed' as const }))];
    return { result: undefined, write: true };
  });
  for (const name of names) await rm(join(inflightDir, name), { force: true });
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
  get kind(): string {
    return { 400: 'bad-request', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found', 413: 'too-large' }[this.status] ?? 'service';
  }
}

async function readArgv(req: IncomingMessage): Promise<string[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES) throw new HttpError(413, `request body larger than ${MAX_JSON_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`);
  }
  const argv = (body as { argv?: unknown }).argv;
  if (!Array.isArray(argv) || argv.length > 64 || !argv.every((a) => typeof a === 'string' && a.length <= 4096)) {
    throw new HttpError(400, 'expected {"argv": [strings…]} (at most 64 arguments)');
  }
  if (argv.some((a) => a === '-C' || a.startsWith('--workspace') || a.startsWith('--service') || a.startsWith('-C'))) {
    throw new HttpError(400, 'the service owns its workspace: -C/--workspace and --service are not accepted');
  }
  return argv as string[];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
