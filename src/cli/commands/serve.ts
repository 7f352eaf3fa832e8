import { readFile } from 'node:fs/promises';
import { parseListenAddress } from '../../service/listen-address.js';
import { startService } from '../../service/server.js';
import { loadTokens } from '../../service/tokens.js';
import { InputError, UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the bake service: one manifest and lock shared by many CI jobs',
  help: `Usage: bake serve --tokens FILE [--listen ADDR:PORT | --port PORT] [--tls-cert FILE --tls-key FILE]
                  [--allow-host NAME,…] [--insecure-http]
       bake serve --no-auth [--port PORT]

Serves the workspace to clients (bake --service-url URL …, or BAKE_SERVICE=URL): commit, build,
release, push, status, log, gc, revoke and unrevoke run here, through the same store transactions
and race gate as a local run, with the same output and exit codes (and latest, the read a
client's commit proves its checkout against). The deploy-side commands (deploy, up, down,
promote, rollback, abort, upgrade, toggle, verify) do not: a client naming a service refuses
them (exit 2). commit takes uploads of each service's committed tree (verified against its
digest). Progress streams to the client; a client that disconnects does not stop its command.
Half-written uploads and manifest temp files are removed on start. GET / serves the dashboard.

Replicas: with a database store (BAKE_DATABASE_URL=postgres://…, or bake.yaml database:) any
number of bake serve processes, on any hosts, serve one workspace behind any load balancer: each
keeps only caches (give each its own working directory). Write requests are recorded in the
store while they run; when a replica stops beating its heartbeat for BAKE_REPLICA_TIMEOUT_MS
(default 15000), another records its requests as failed (once). With the JSON store, requests a
crash interrupted are recorded when this service starts again. A client sends each request with
an Idempotency-Key: its retry (another replica, a dropped connection) runs nothing twice. With a
blob registry (BAKE_BLOB_REGISTRY) uploads are shared by the replicas; else a client uploads
again to the replica that lacks one. GET /v1/health answers 503 while the store is unreachable.

Writes are recorded as the caller's BAKE_ACTOR (else user@host), as "NAME (actor)" when the
token's line names it.

Options:
  --tokens FILE       the bearer tokens (format below); the file must be private (chmod 600 FILE)
  --no-auth           accept every request without a token (loopback only; for a single developer)
  --listen ADDR:PORT  the address to listen on: 127.0.0.1:7878 (the default), 0.0.0.0:7878 or
                      :7878 (every address), [::]:7878, 10.0.0.5:7878, a host name. Any address
                      other machines can reach needs --tls-cert/--tls-key, or --insecure-http
  --port PORT         the port on 127.0.0.1 (default 7878; 0 picks a free port, printed on stdout)
  --insecure-http     serve plain http on a non-loopback --listen address: only behind a TLS
                      proxy or load balancer, or on a private network (clients send tokens in
                      clear text over plain http only to 127.0.0.1)
  --tls-cert FILE     serve https with this certificate (PEM; needs --tls-key)
  --tls-key FILE      its private key (PEM; needs --tls-cert). Clients trust a private CA with
                      BAKE_SERVICE_CA=FILE
  --allow-host NAMES  host names (comma-separated, optionally with :PORT) besides 127.0.0.1,
                      localhost and the --listen address that the service answers to: a reverse
                      proxy's or load balancer's (bake.example.com), the name runners use

Token file: one token per line, blank lines and # comments allowed:
  write|read TOKEN|sha256:<hex> [NAME]
  read    status, log, latest and the dashboard's reads; write: every command and upload
  TOKEN   16 or more characters, or sha256:<64 hex> of one (printf %s "$TOKEN" | sha256sum),
          so the file need hold no secret
  NAME    optional: recorded with the caller's actor as "NAME (actor)"
The service refuses to start when the file is readable or writable by group or others.

Requests naming another host (DNS rebinding), carrying a foreign Origin (a web page), or a body
that is not application/json or application/x-tar are refused (403, 415), with or without auth.
A body that delivers less than 1 KiB in 30 s is cut (408; BAKE_SERVICE_BODY_TIMEOUT_MS changes
the window).

Endpoints: POST /v1/commands {"command", "options": {…}, "actor"} (NDJSON answer: {"progress"} lines, then
{"result"} or {"error"}), POST /v1/uploads?digest=sha256:… (a tar; answers {"upload": HEX}),
GET /v1/queue, GET /v1/health, GET / (the dashboard).`,
  options: ['tokens', 'no-auth', 'port', 'listen', 'tls-cert', 'tls-key', 'allow-host', 'insecure-http'],
  service: 'ignore',
  positionals: false,
  async run(ctx, _p, values) {
    const tokensFile = values['tokens'];
    if (typeof tokensFile !== 'string' && values['no-auth'] !== true) {
      throw new UsageError('bake serve: pass --tokens FILE (or --no-auth on a machine only you use)');
    }
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
      throw new UsageError('bake serve: --tls-cert and --tls-key go together (the certificate and its private key, PEM)');
    }
    if (values['port'] !== undefined && values['listen'] !== undefined) {
      throw new UsageError('bake serve: pass --listen ADDR:PORT or --port PORT, not both');
    }
    const listen = values['listen'] !== undefined ? parseListenAddress(values['listen']) : undefined;
    if (listen && !listen.loopback && values['no-auth'] === true) {
      throw new UsageError(
        `bake serve: --no-auth is for loopback addresses only; ${values['listen']} is reachable from other machines: pass --tokens FILE`,
      );
    }
    const port = listen?.port ?? values['port'] ?? 7878;
    const tokens = typeof tokensFile === 'string' ? await loadTokens(tokensFile) : undefined;
    const tls =
      values['tls-cert'] !== undefined && values['tls-key'] !== undefined
        ? { cert: await readPem(values['tls-cert'], 'certificate'), key: await readPem(values['tls-key'], 'private key') }
        : undefined;
    const service = await startService({
      workspace: ctx.workspace,
      port,
      ...(listen && { host: listen.host }),
      ...(values['insecure-http'] === true && { insecureHttp: true }),
      tokens,
      env: ctx.env,
      ...(tls && { tls }),
      ...(values['allow-host'] !== undefined && { allowHosts: values['allow-host'] }),
      ...bodyTimeout(ctx.env),
    });
    process.stdout.write(`${JSON.stringify({ url: service.url })}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await service.close();
    return { json: {}, human: [] };
  },
});

async function readPem(file: string, what: string): Promise<Buffer> {
  const pem = await readFile(file).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError([{ file, message: `cannot read the TLS ${what} (${code})`, fix: 'pass a readable PEM file' }], { cause: error });
  });
  if (!pem.toString('latin1').includes('-----BEGIN ')) {
    throw new InputError([{ file, message: `the TLS ${what} is not PEM`, fix: 'pass a PEM file (-----BEGIN …-----)' }]);
  }
  return pem;
}

/** BAKE_SERVICE_BODY_TIMEOUT_MS: the window of the slow-body cut, for tests and slow links. */
function bodyTimeout(env: NodeJS.ProcessEnv): { bodyTimeout?: { windowMs: number } } {
  const raw = env['BAKE_SERVICE_BODY_TIMEOUT_MS'];
  if (raw === undefined || raw === '') return {};
  const windowMs = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(windowMs) || windowMs < 100 || windowMs > 600_000) {
    throw new UsageError(`BAKE_SERVICE_BODY_TIMEOUT_MS takes milliseconds from 100 to 600000, got ${JSON.stringify(raw)}`);
  }
  return { bodyTimeout: { windowMs } };
}
