import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AppContext } from '../app/context.js';
import { HttpError } from './http-error.js';
import { startInflight, type Job } from './inflight.js';
import { parseRequest } from './parse-request.js';
import { errorDocument } from './remote-error.js';
import { describeRequest, READ_COMMANDS, type RemoteRequest } from './requests.js';
import { grantOf, recordedActor, type Grant } from './tokens.js';
import { receiveUpload, UploadError } from './uploads.js';
import { runCall, useCaseOf } from './dispatch.js';

/**
 * `bake serve`: one process owns a workspace's manifest, lock and store, and runs the remote use
 * cases (commit, build, release, push, status, log, gc) for clients, through the same use cases,
 * locks and race gate as the CLI. Requests are typed JSON, `{command, options, actor}`, checked
 * before anything runs; those that touch the same image meet at the same locks, unrelated ones run
 * in parallel. The answer streams back as NDJSON: `{progress}` lines, then `{result}` or `{error}`.
 * A client that disconnects does not stop its command.
 */
export interface ServiceOptions {
  workspace: string;
  port: number;
  /** Bearer tokens and what they grant; undefined only with --no-auth. */
  tokens: Map<string, Grant> | undefined;
  maxUploadBytes?: number;
  /** The environment use cases run with (default: this process's); BAKE_ACTOR is set per request. */
  env?: NodeJS.ProcessEnv;
}

const MAX_JSON_BYTES = 64 * 1024;
/** Requests that write a commit or a build get an in-flight marker, so a crash is recorded. */
const MARKED = new Set(['commit', 'build']);

export async function startService(options: ServiceOptions): Promise<{ port: number; close(): Promise<void> }> {
  const inflight = await startInflight(options.workspace);
  const running = new Map<string, Job>();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : error instanceof UploadError ? 400 : 500;
      if (!res.headersSent) send(res, status, { error: errorDocument(error) });
      else res.end();
    });
  });
  server.requestTimeout = 15 * 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/v1/health') return send(res, 200, { ok: true });
    const grant: Grant | undefined = options.tokens ? grantOf(options.tokens, req.headers.authorization) : { role: 'write' };
    if (!grant) throw new HttpError(401, 'a bearer token is required (BAKE_SERVICE_TOKEN)');
    if (req.method === 'GET' && url.pathname === '/v1/queue') return send(res, 200, { running: [...running.values()] });
    if (req.method === 'POST' && url.pathname === '/v1/uploads') {
      if (grant.role !== 'write') throw new HttpError(403, 'uploading needs a write token');
      const dir = await receiveUpload(options.workspace, url.searchParams.get('digest') ?? '', req, options.maxUploadBytes ?? 1 << 30);
      return send(res, 200, { upload: dir.split('/').pop() });
    }
    if (req.method === 'POST' && url.pathname === '/v1/commands') {
      const request = parseRequest(await readJson(req));
      if (grant.role === 'read' && !READ_COMMANDS.has(request.command)) throw new HttpError(403, `${request.command} needs a write token`);
      return run(request, grant, res);
    }
    throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`);
  }

  async function run(request: RemoteRequest, grant: Grant, res: ServerResponse): Promise<void> {
    // Uploads are resolved before the answer starts, so a missing one is a 400 like any bad request.
    const call = await useCaseOf(options.workspace, request);
    const actor = recordedActor(grant, request.actor);
    const job: Job = {
      id: randomUUID(),
      command: request.command,
      options: request.options,
      argv: describeRequest(request),
      actor,
      startedAt: new Date().toISOString(),
      state: 'running',
    };
    running.set(job.id, job);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const line = (value: unknown) => {
      if (!res.destroyed) res.write(`${JSON.stringify(value)}\n`);
    };
    const ctx: AppContext = {
      workspace: options.workspace,
      env: { ...(options.env ?? process.env), BAKE_ACTOR: actor },
      progress: (event) => {
        job.state = event.kind === 'wait' ? `waiting: ${event.message}` : 'running';
        line({ progress: event });
      },
    };
    const marked = MARKED.has(request.command);
    try {
      if (marked) await inflight.mark(job);
      line({ result: await runCall(ctx, call) });
    } catch (error) {
      line({ error: errorDocument(error) });
    } finally {
      running.delete(job.id);
      if (marked) await inflight.clear(job);
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

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES) throw new HttpError(413, `request body larger than ${MAX_JSON_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}
