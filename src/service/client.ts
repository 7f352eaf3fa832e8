import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MainIo } from '../cli/main.js';
import { progressDisplay } from '../cli/progress-display.js';
import { loadWorkspace } from '../config/workspace.js';
import { BakeError, ExitCode, UsageError } from '../util/errors.js';
import { tarStreamOf } from '../layer/tar.js';
import { readDirectoryTree } from '../source/directory-source.js';
import { openGitRepo } from '../source/git-source.js';
import { sortEntries, type TreeEntry } from '../tree/tree.js';

/**
 * The CLI's side of `--service URL` / BAKE_SERVICE: the same command, run by the service, with
 * the same output and exit code. `commit` first uploads each service's committed tree (a tar
 * stream, verified by the service against its digest), so runners need no shared file system.
 */
export async function forward(url: string, argv: string[], io: MainIo): Promise<number> {
  const base = new URL(url);
  const token = process.env['BAKE_SERVICE_TOKEN'];
  const { workspace, rest } = splitWorkspace(argv);
  const command = rest.find((a) => !a.startsWith('-'));
  const progress = io.progress ?? progressDisplay(io.stderr as NodeJS.WriteStream);
  if (command !== 'commit') return run(base, token, rest, io, progress);

  // commit: upload, then commit each service from its upload; one JSON document for all.
  const parsed = parseArgs({ args: rest.slice(rest.indexOf('commit') + 1), options: { all: { type: 'boolean' }, from: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: false });
  const ws = await loadWorkspace(workspace);
  const names = parsed.values.all === true ? [...ws.services.keys()] : parsed.positionals;
  if (names.length === 0) throw new UsageError('bake commit: name at least one service, or pass --all');
  const json = rest.includes('--json');
  const commits: unknown[] = [];
  let exit = 0;
  for (const name of names) {
    const service = ws.services.get(name);
    if (!service) throw new UsageError(`unknown service ${name}`);
    const snapshot = await localSnapshot(service.source, name, typeof parsed.values.from === 'string' ? resolve(parsed.values.from) : undefined);
    progress({ kind: 'step', message: `uploading ${name}` });
    const uploaded = await upload(base, token, snapshot.entries);
    const args = ['commit', name, '--from', uploaded, ...(snapshot.revision ? ['--revision', snapshot.revision, '--author', snapshot.author, '--commit-time', String(snapshot.time)] : []), ...(json ? ['--json'] : [])];
    let stdout = '';
    const code = await run(base, token, args, { ...io, stdout: { write: (s: string) => ((stdout += s), true) } as unknown as NodeJS.WritableStream }, progress);
    exit = Math.max(exit, code);
    if (json) {
      const doc = JSON.parse(stdout || '{}') as { commits?: unknown[]; error?: unknown };
      if (doc.error) {
        io.stdout.write(stdout);
        return code;
      }
      commits.push(...(doc.commits ?? []));
    } else io.stdout.write(stdout);
  }
  if (json) io.stdout.write(`${JSON.stringify({ commits }, null, 2)}\n`);
  return exit;
}

function splitWorkspace(argv: string[]): { workspace: string; rest: string[] } {
  const rest: string[] = [];
  let workspace = '.';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-C' || arg === '--workspace') workspace = argv[++i] ?? '.';
    else if (arg.startsWith('--workspace=')) workspace = arg.slice('--workspace='.length);
    else rest.push(arg);
  }
  return { workspace: resolve(workspace), rest };
}

/** The files to upload: the committed git tree (or --from's directory), as the service will pack them. */
async function localSnapshot(source: string, name: string, from: string | undefined): Promise<{ entries: TreeEntry[]; revision?: string; author: string; time: number }> {
  if (from) return { entries: await readDirectoryTree(from, { label: `service ${name}` }), author: '', time: 0 };
  const repo = await openGitRepo(source, `service ${name}`);
  const path = repo ? await repo.pathOf(source) : undefined;
  if (!repo || path === undefined) return { entries: await readDirectoryTree(source, { label: `service ${name}` }), author: '', time: 0 };
  const tree = (await repo.readTrees([{ path, label: `service ${name}` }])).get(path);
  if (!tree) throw new BakeError(`service ${name}: nothing committed at ${path}`);
  return { entries: tree.entries, revision: tree.revision, author: tree.author, time: tree.commitTime };
}

async function upload(base: URL, token: string | undefined, entries: TreeEntry[]): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStreamOf(sortEntries(entries), { mtime: 0 })) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const response = await call(base, token, 'POST', `/v1/uploads?digest=${digest}`, body, 'application/x-tar');
  const doc = JSON.parse(response.body) as { from?: string; error?: { message: string } };
  if (response.status !== 200 || !doc.from) throw new BakeError(`the bake service refused the upload: ${doc.error?.message ?? response.status}`);
  return doc.from;
}

/** Runs one command at the service, relaying progress, and prints its output as a local run would. */
async function run(base: URL, token: string | undefined, argv: string[], io: MainIo, progress: NonNullable<MainIo['progress']>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const payload = JSON.stringify({ argv });
    const req = request(
      { host: base.hostname, port: base.port, method: 'POST', path: '/v1/commands', headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) } },
      (res) => {
        let pending = '';
        let exit: number | undefined;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const text = pending.slice(0, nl);
            pending = pending.slice(nl + 1);
            if (!text) continue;
            const msg = JSON.parse(text) as { progress?: Parameters<typeof progress>[0]; exit?: number; stdout?: string; stderr?: string; error?: { kind: string; message: string } };
            if (msg.progress) progress(msg.progress);
            if (msg.exit !== undefined) {
              exit = msg.exit;
              io.stdout.write(msg.stdout ?? '');
              io.stderr.write(msg.stderr ?? '');
            }
            if (msg.error) {
              exit = res.statusCode === 401 || res.statusCode === 403 ? ExitCode.error : ExitCode.usage;
              if (argv.includes('--json')) io.stdout.write(`${JSON.stringify({ error: msg.error }, null, 2)}\n`);
              io.stderr.write(`bake: the service refused: ${msg.error.message}\n`);
            }
          }
        });
        res.on('end', () => {
          if (exit === undefined) {
            io.stderr.write('bake: the service closed the connection before the command finished\n');
            return resolvePromise(ExitCode.error);
          }
          resolvePromise(exit);
        });
        res.on('error', reject);
      },
    );
    req.on('error', (error) => reject(new BakeError(`no bake service answers at ${base.origin} (${error.message})`, { cause: error })));
    req.end(payload);
  });
}

function call(base: URL, token: string | undefined, method: string, path: string, body: Buffer, type: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, method, path, headers: { 'content-type': type, 'content-length': String(body.length), ...(token && { authorization: `Bearer ${token}` }) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', (error) => reject(new BakeError(`no bake service answers at ${base.origin} (${error.message})`, { cause: error })));
    req.end(body);
  });
}

/** Interim: typed requests to the service arrive with the application layer. */
export async function callService(_ctx: unknown, url: string, name: string, _options: unknown): Promise<never> {
  throw new BakeError(`bake ${name} through ${url}: typed service requests are not wired yet`);
}
