import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request as plainRequest, type IncomingHttpHeaders } from 'node:http';
import { request as tlsRequest } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BAKE_BIN } from '../helpers/bake-cli.js';

/** The security suite's tokens: long enough, and written to a private token file. */
export const WRITE = 'w'.repeat(40);
export const READ = 'r'.repeat(40);

/** A running `bake serve` process and where it listens. */
export interface Served {
  child: ChildProcess;
  port: number;
  url: string;
  /** What the service wrote on stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for it to exit. */
  stop(): Promise<void>;
}

/** Writes `lines` as a token file with mode 0600 (the service refuses any other) and returns its path. */
export async function tokenFile(dir: string, lines = `write ${WRITE}\nread ${READ}\n`, mode = 0o600): Promise<string> {
  const file = join(dir, `.tokens-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, lines, { mode });
  return file;
}

/**
 * Starts the real `bake serve` (bin/bake.js) on a free port of 127.0.0.1 with `args` (e.g.
 * `--tokens FILE` or `--no-auth`) and resolves once it printed its URL; rejects with its stderr
 * when it exits first.
 */
export async function serve(workspace: string, args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [BAKE_BIN, '-C', workspace, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`bake serve exited ${code}: ${err}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    port: Number(new URL(url).port),
    url,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

export interface RawRequest {
  method?: string;
  path: string;
  /** Every header as sent: nothing is added (no Host unless given, beyond what node must send). */
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** For https: the CA to trust. */
  ca?: Buffer;
}

/**
 * One request with exactly the headers given (a Host of the caller's choosing included), to the
 * service at `url`; resolves with the answer, whatever its status.
 */
export function send(url: string, req: RawRequest): Promise<Answer> {
  const base = new URL(url);
  const make = base.protocol === 'https:' ? tlsRequest : plainRequest;
  return new Promise((resolve, reject) => {
    const r = make(
      {
        host: base.hostname,
        port: base.port,
        method: req.method ?? 'POST',
        path: req.path,
        headers: req.headers ?? {},
        // No Host given means none sent (node would add one).
        setHost: Object.keys(req.headers ?? {}).some((name) => name.toLowerCase() === 'host'),
        agent: false,
        ...(req.ca && { ca: req.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    r.on('error', reject);
    if (req.body instanceof Readable) req.body.pipe(r);
    else r.end(req.body);
  });
}

/** The headers a bake client sends: the right Host, the type, and a bearer token. */
export function clientHeaders(port: number, type: string, token: string | undefined = WRITE): Record<string, string> {
  return { host: `127.0.0.1:${port}`, 'content-type': type, ...(token !== undefined && { authorization: `Bearer ${token}` }) };
}

/** POST /v1/commands as a bake client would. */
export function command(served: Served, body: unknown, token: string | undefined = WRITE): Promise<Answer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return send(served.url, { path: '/v1/commands', headers: clientHeaders(served.port, 'application/json', token), body: text });
}

/** POST /v1/uploads of `tar` under its own digest (or `digest`). */
export function upload(served: Served, tar: Buffer, options: { digest?: string; token?: string } = {}): Promise<Answer> {
  const digest = options.digest ?? sha256(tar);
  return send(served.url, {
    path: `/v1/uploads?digest=${digest}`,
    headers: { ...clientHeaders(served.port, 'application/x-tar', options.token ?? WRITE), 'content-length': String(tar.length) },
    body: tar,
  });
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
