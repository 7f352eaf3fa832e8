import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AppContext } from '../app/context.js';
import { workspacePaths } from '../config/workspace-paths.js';
import { removeStaleTempFiles } from '../manifest/manifest-file.js';
import { BakeError, UsageError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { createDashboard } from '../dashboard/dashboard.js';
import { DEFAULT_BODY_TIMEOUT, timedBody, type BodyTimeout } from './body-timeout.js';
import { runCall, useCaseOf, type UseCaseCall } from './dispatch.js';
import { readJson, refuse, send } from './http-answers.js';
import { HttpError } from './http-error.js';
import { requestKey } from './idempotency.js';
import { type Inflight, type Job, type RequestKey, startInflight } from './inflight.js';
import { assertSafeListener, type ListenAddress, listenAddressOf, listenerHosts, listenerUrl } from './listen-address.js';
import { parseRequest } from './parse-request.js';
import { publicError } from './public-error.js';
import { guardRequest } from './request-guard.js';
import { describeRequest, READ_COMMANDS, type RemoteRequest } from './requests.js';
import { sharedUploadStore } from './shared-uploads.js';
import { grantOf, recordedActor, type Grant, type Tokens } from './tokens.js';
import { createSlots } from './upload-slots.js';
import { MemoryUploads } from './memory-uploads.js';
import { receiveUpload, removeStaleUploads } from './uploads.js';
import { writeRequests } from './write-requests.js';

/**
 * `bake serve`: runs the remote use cases (commit, build, release, push, status, log, gc, revoke,
 * unrevoke) for clients, through the same use cases, store transactions and race gate as the CLI.
 * Requests are typed JSON, `{command, options, actor}`, checked before anything runs; those that
 * touch the same image meet at the same locks, unrelated ones run in parallel. The answer streams
 * back as NDJSON: `{progress}` lines, then `{result}` or `{error}`. A client that disconnects does
 * not stop its command. Only requests that name this service (Host, Origin) and send JSON or tar
 * are served, whatever the token (see request-guard.ts).
 *
 * With a database store, any number of processes (replicas, on any hosts) can serve one workspace:
 * all they keep is in the store (records, the request ledger) or safe to lose (uploads, caches).
 * A write request is in the ledger while it runs; a replica that dies has its requests recorded as
 * interrupted by the others (replica.ts); a request sent with an Idempotency-Key runs once, its
 * retries get its answer (inflight.ts).
 */
export interface ServiceOptions {
  workspace: string;
  port: number;
  /** The address to listen on (default 127.0.0.1); a non-loopback one needs `tls` or `insecureHttp`. */
  host?: string;
  /** Serve plain http on a non-loopback address (a TLS proxy or a private network protects it). */
  insecureHttp?: boolean;
  /** Bearer tokens (their digests) and what they grant; undefined only with --no-auth. */
  tokens: Tokens | undefined;
  /** Largest upload in bytes (default 1 GiB). */
  maxUploadBytes?: number;
  /** Uploads received at once (default 4); up to 64 more wait, beyond that 503. */
  uploadSlots?: number;
  /** How slowly a body may arrive (default: 1 KiB in every 30 s). */
  bodyTimeout?: Partial<BodyTimeout>;
  /** Certificate and key (PEM) to serve https with. */
  tls?: { cert: Buffer; key: Buffer };
  /** Host names besides 127.0.0.1 and localhost it answers to (a TLS proxy's name). */
  allowHosts?: readonly string[];
  /** The environment use cases run with (default: this process's, as it is at the start); BAKE_ACTOR is set per request. */
  env?: NodeJS.ProcessEnv;
}

/** Requests that write get an in-flight marker (so a crash is recorded) and may carry an idempotency key. */
const MARKED: ReadonlySet<string> = new Set(['commit', 'build', 'release', 'push', 'gc', 'revoke', 'unrevoke']);
/** How long a progress line may wait for others to go out with it. */
const PROGRESS_MS = 50;
const log = createLogger('service');

/** A running service: where it listens, and how to stop it (requests running finish first). */
export interface RunningService {
  port: number;
  url: string;
  /** The replica's id in the request ledger (a database store), for logs and tests. */
  replica: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts the service after clearing what a crash left (manifest temp files, half uploads) and
 * recording interrupted requests. Throws UsageError for a listener it must not open (plain http
 * on a non-loopback address without `insecureHttp`).
 */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  const { workspace } = options;
  // A plain copy, once: copying process.env itself costs ~2 µs a variable, on every request.
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  const debug = Boolean(env['BAKE_DEBUG']);
  const address: ListenAddress = listenAddressOf(options.host ?? '127.0.0.1', options.port);
  assertSafeListener(address, options.tls !== undefined, options.insecureHttp === true);
  await removeStaleTempFiles(workspacePaths(workspace).manifest);
  await removeStaleUploads(workspace);
  const shared = await sharedUploadStore(workspace, env);
  // Small uploads stay in this process's memory until their commit (memory-uploads.ts).
  const held = new MemoryUploads();
  const inflight: Inflight = await startInflight(workspace, env);
  const running = new Map<string, Job>();
  const requests = writeRequests(inflight);
  const uploads = createSlots(options.uploadSlots ?? 4, 64);
  const bodyTimeout = { ...DEFAULT_BODY_TIMEOUT, ...options.bodyTimeout };
  const maxUploadBytes = options.maxUploadBytes ?? 1 << 30;
  let guard = {
    port: options.port,
    tls: options.tls !== undefined,
    allowHosts: options.allowHosts ?? [],
    listenHosts: listenerHosts(address),
  };
  // The release dashboard: its page and assets are public, its reads and events need a token, its actions a write token.
  const dashboard = createDashboard({ workspace, env, auth: options.tokens !== undefined });

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (debug) log.debug('request failed', { url: req.url, error: String((error as Error)?.stack ?? error) });
      refuse(req, res, error, workspace, debug);
    });
  };
  const server = options.tls ? tlsServer(options.tls, onRequest) : createServer(onRequest);
  // Headers must arrive promptly; a body is held to its own pace (body-timeout.ts); the whole
  // request, a 1 GiB upload included, within ten minutes. Answers (long bakes) are not bounded.
  server.headersTimeout = 20_000;
  server.requestTimeout = 10 * 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    guardRequest(req, url.pathname, guard);
    if (req.method === 'GET' && url.pathname === '/v1/health') {
      // A load balancer takes a replica whose heartbeats no longer reach the store out of rotation.
      const healthy = inflight.replica?.healthy() ?? true;
      return send(res, healthy ? 200 : 503, { ok: healthy, ...(inflight.replica && { replica: inflight.replica.row.replica }) });
    }
    const grant: Grant | undefined = options.tokens ? grantOf(options.tokens, req.headers.authorization) : { role: 'write' };
    if (await dashboard.handle(req, res, url, grant)) return;
    if (!grant) throw new HttpError(401, 'a bearer token is required (BAKE_SERVICE_TOKEN)');
    if (req.method === 'GET' && url.pathname === '/v1/queue') return send(res, 200, { running: [...running.values()] });
    if (req.method === 'POST' && url.pathname === '/v1/uploads') {
      if (grant.role !== 'write') throw new HttpError(403, 'uploading needs a write token');
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxUploadBytes) throw new HttpError(413, `upload of ${declared} bytes is larger than the ${maxUploadBytes} allowed`);
      const release = await uploads.acquire();
      try {
        const digest = url.searchParams.get('digest') ?? '';
        return send(res, 200, {
          upload: await receiveUpload(workspace, digest, timedBody(req, bodyTimeout), { maxBytes: maxUploadBytes }, shared, {
            uploads: held,
            declaredBytes: declared,
          }),
        });
      } finally {
        release();
      }
    }
    if (req.method === 'POST' && url.pathname === '/v1/commands') {
      const request = parseRequest(await readJson(timedBody(req, bodyTimeout)));
      if (grant.role === 'read' && !READ_COMMANDS.has(request.command)) throw new HttpError(403, `${request.command} needs a write token`);
      return run(request, grant, MARKED.has(request.command) ? requestKey(req, request) : undefined, res);
    }
    throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`);
  }

  async function run(request: RemoteRequest, grant: Grant, key: RequestKey | undefined, res: ServerResponse): Promise<void> {
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
    // The marker names the request's uploads before they are resolved, so gc never removes an
    // upload between being found here and being read by the use case.
    const marked = MARKED.has(request.command);
    if (marked) {
      const begun = await requests.begin(job, key);
      if (begun !== undefined) {
        // The same request ran already (a retry after a lost answer): its answer again, nothing run.
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.end(`${begun}\n`);
        return;
      }
    }
    let call: UseCaseCall;
    try {
      // Uploads are resolved before the answer starts, so a missing one is a 400 like any bad request.
      call = await useCaseOf(workspace, request, shared, held);
    } catch (error) {
      if (marked) await requests.abandon(job, key);
      throw error;
    }
    running.set(job.id, job);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    // Progress lines go out together, PROGRESS_MS after the first one waiting, or with the answer:
    // a command that ends in less sends one packet instead of one a line (each is a system call
    // here, a wake-up and a read at the caller's).
    let lines = '';
    let flush: NodeJS.Timeout | undefined;
    const line = (value: unknown) => {
      lines += `${JSON.stringify(value)}\n`;
      flush ??= setTimeout(() => {
        flush = undefined;
        if (!res.destroyed) res.write(lines);
        lines = '';
      }, PROGRESS_MS);
    };
    const ctx: AppContext = {
      workspace,
      env: { ...env, BAKE_ACTOR: actor },
      progress: (event) => {
        job.state = event.kind === 'wait' ? `waiting: ${event.message}` : 'running';
        line({ progress: event });
      },
    };
    let answer: string;
    try {
      answer = JSON.stringify({ result: await runCall(ctx, call) });
    } catch (error) {
      if (debug) log.debug('command failed', { command: request.command, error: String((error as Error)?.stack ?? error) });
      answer = JSON.stringify({ error: publicError(error, workspace, debug).document });
    }
    running.delete(job.id);
    clearTimeout(flush);
    if (res.destroyed) res.end();
    else res.end(`${lines}${answer}\n`);
    // After the answer, so the caller does not wait for it; a retry meanwhile waits (409) for it.
    if (marked) requests.end(job, key, answer);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  }).catch(async (error: unknown) => {
    await inflight.close();
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const where = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
    throw new BakeError(`bake serve cannot listen on ${where} (${code})`, { cause: error });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  guard = { ...guard, port };
  return {
    port,
    url: listenerUrl(address, port, options.tls !== undefined),
    replica: inflight.replica?.row.replica,
    async close() {
      dashboard.close();
      await new Promise<void>((r) => server.close(() => r()));
      await requests.settle(5000);
      await inflight.close();
    },
  };
}

function tlsServer(tls: { cert: Buffer; key: Buffer }, onRequest: (req: IncomingMessage, res: ServerResponse) => void) {
  try {
    return createTlsServer({ cert: tls.cert, key: tls.key }, onRequest);
  } catch (error) {
    throw new UsageError(`bake serve: the TLS certificate and key cannot be used together (${(error as Error).message})`, { cause: error });
  }
}
