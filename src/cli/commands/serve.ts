import { UsageError } from '../../util/errors.js';
import { startService } from '../../service/server.js';
import { loadTokens } from '../../service/tokens.js';
import { defineCommand } from '../command.js';

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'run the bake service: one manifest and lock shared by many CI jobs',
  help: `Usage: bake serve --tokens FILE [--port PORT] | --no-auth

Serves the workspace to clients (bake --service http://127.0.0.1:PORT …, or BAKE_SERVICE) on
127.0.0.1: commit, build, release, push, status, log and gc run here, through the same locks and
race gate as a local run, with the same output and exit codes. commit takes uploads of each
service's committed tree (verified against its digest). Progress streams to the client; a client
that disconnects does not stop its command. Requests that a crash interrupted are recorded as
failed when the service starts again.

Writes are recorded as the caller's BAKE_ACTOR (else user@host), as "NAME (actor)" when the
token's line names it.

Options:
  --tokens FILE   bearer tokens, one per line: "read TOKEN [NAME]" (status, log) or "write TOKEN [NAME]"
  --no-auth       accept every request (loopback only; for a single developer)
  --port PORT     default 7878; 0 picks a free port (printed on stdout)

Endpoints: POST /v1/commands {"command", "options": {…}, "actor"} (NDJSON answer: {"progress"} lines, then
{"result"} or {"error"}), POST /v1/uploads?digest=sha256:… (a tar; answers {"upload": HEX}),
GET /v1/queue, GET /v1/health.`,
  options: ['tokens', 'no-auth', 'port'],
  service: 'ignore',
  positionals: false,
  async run(ctx, _p, values) {
    const tokensFile = values['tokens'];
    if (typeof tokensFile !== 'string' && values['no-auth'] !== true) {
      throw new UsageError('bake serve: pass --tokens FILE (or --no-auth on a machine only you use)');
    }
    const port = values['port'] ?? 7878;
    const tokens = typeof tokensFile === 'string' ? await loadTokens(tokensFile) : undefined;
    const service = await startService({ workspace: ctx.workspace, port, tokens, env: ctx.env });
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${service.port}` })}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await service.close();
    return { json: {}, human: [] };
  },
});
