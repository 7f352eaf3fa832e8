import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BakeError, ExitCode, UsageError } from '../util/errors.js';
import { bakeClock } from '../util/clock.js';
import type { Command } from './command.js';
import { clearProgress, progressDisplay } from './progress-display.js';
import type { ProgressSink } from '../util/progress.js';

/** Commands load on demand: a command pays only for the modules it uses (start-up time matters). */
const commands: { name: string; summary: string; load(): Promise<Command> }[] = [
  { name: 'commit', summary: 'record the committed source of services as new versions', load: async () => (await import('./commands/commit.js')).commitCommand },
  { name: 'build', summary: 'bake images from recipes and the latest committed versions', load: async () => (await import('./commands/build.js')).buildCommand },
  { name: 'release', summary: 'hand a build to an environment through the race gate', load: async () => (await import('./commands/release.js')).releaseCommand },
  { name: 'deploy', summary: 'release through the race gate and roll out (rolling, blue-green, canary, ab)', load: async () => (await import('./commands/deploy.js')).deployCommand },
  { name: 'promote', summary: 'finish a canary or A/B deploy', load: async () => (await import('./commands/promote.js')).promoteCommand },
  { name: 'rollback', summary: 'return an environment to its previous release', load: async () => (await import('./commands/rollback.js')).rollbackCommand },
  { name: 'toggle', summary: 'flip a feature for every instance at once, once versions allow', load: async () => (await import('./commands/toggle.js')).toggleCommand },
  { name: 'up', summary: 'bring an environment up locally (bake, release, run behind its router)', load: async () => (await import('./commands/up.js')).upCommand },
  { name: 'verify', summary: "run an environment's test command against it", load: async () => (await import('./commands/verify.js')).verifyCommand },
  { name: 'down', summary: 'remove everything an environment started', load: async () => (await import('./commands/down.js')).downCommand },
  { name: 'router', summary: "run an environment's router (deploy and up start it for you)", load: async () => (await import('./commands/router.js')).routerCommand },
  { name: 'push', summary: 'push a build to an OCI registry (distribution API, no engine)', load: async () => (await import('./commands/push.js')).pushCommand },
  { name: 'gc', summary: 'remove images and blobs no release references (store and engine)', load: async () => (await import('./commands/gc.js')).gcCommand },
  { name: 'serve', summary: 'run the bake service: one manifest and lock for many CI jobs', load: async () => (await import('./commands/serve.js')).serveCommand },
  { name: 'status', summary: 'show services, builds, environments and the manifest generation', load: async () => (await import('./commands/status.js')).statusCommand },
  { name: 'log', summary: 'the history of commits, builds, releases and refusals', load: async () => (await import('./commands/log.js')).logCommand },
];

const globalOptions = {
  workspace: { type: 'string', short: 'C' },
  service: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `bake — bake committed service versions into reproducible, digest-addressed images

Usage: bake [-C DIR] [--json] <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Global options:
  -C, --workspace DIR  the workspace (the directory holding bake.yaml); default: current directory
      --json           print one JSON document on stdout and nothing else there
      --service URL    run commit, build, release, push, status, log and gc through a bake service
                       (also BAKE_SERVICE; the token comes from BAKE_SERVICE_TOKEN)
  -h, --help           show help; \`bake <command> --help\` for a command

Exit codes: 0 ok, 1 error, 2 usage or invalid input, 3 refused by the race gate.
Environment: SOURCE_DATE_EPOCH (the one clock), BAKE_ACTOR (who is acting), BAKE_DEBUG=* (debug log).`;
}

/** Where a run writes: the process's streams, or (in `bake serve`) captured ones and a progress sink. */
export interface MainIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  progress?: ProgressSink;
}

/** Commands a `bake serve` service runs on a client's behalf (the rest are local by nature). */
export const REMOTE_COMMANDS = new Set(['commit', 'build', 'release', 'status', 'log', 'push', 'gc']);

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: MainIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const json = argv.includes('--json');
  try {
    const service = serviceTarget(argv, process.env);
    if (service) {
      const { forward } = await import('../service/client.js');
      return await forward(service, stripServiceFlag(argv), io);
    }
    const commandIndex = argv.findIndex((arg, i) => !arg.startsWith('-') && !['-C', '--workspace'].includes(argv[i - 1] ?? ''));
    const entry = commandIndex >= 0 ? commands.find((c) => c.name === argv[commandIndex]) : undefined;
    if (commandIndex >= 0 && !entry) {
      throw new UsageError(`unknown command ${argv[commandIndex]}; commands: ${commands.map((c) => c.name).join(', ')}`);
    }
    if (!entry) {
      io.stdout.write(`${mainHelp()}\n`);
      return argv.some((a) => a === '--help' || a === '-h') || argv.length === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const command = await entry.load();
    const args = [...argv.slice(0, commandIndex), ...argv.slice(commandIndex + 1)];
    let parsed;
    try {
      parsed = parseArgs({ args, options: { ...globalOptions, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`bake ${command.name}: ${(error as Error).message} (see bake ${command.name} --help)`, { cause: error });
    }
    if (parsed.values.help) {
      io.stdout.write(`${command.help}\n`);
      return ExitCode.ok;
    }
    if (!command.positionals && parsed.positionals.length > 0) {
      throw new UsageError(`bake ${command.name} takes no arguments, got ${parsed.positionals.join(' ')}`);
    }
    bakeClock(undefined, process.env); // a malformed SOURCE_DATE_EPOCH is refused before any work
    const workspace = resolve(typeof parsed.values.workspace === 'string' ? parsed.values.workspace : '.');
    const output = await command.run(
      { workspace, json, env: process.env, progress: io.progress ?? progressDisplay(io.stderr as NodeJS.WriteStream) },
      parsed.positionals,
      parsed.values,
    );
    clearProgress(io.stderr as NodeJS.WriteStream);
    if (json) io.stdout.write(`${JSON.stringify(output.json, null, 2)}\n`);
    else if (output.human.length > 0) io.stdout.write(`${output.human.join('\n')}\n`);
    return output.exitCode ?? ExitCode.ok;
  } catch (error) {
    clearProgress(io.stderr as NodeJS.WriteStream);
    return reportError(error, json, io);
  }
}

/** `--service URL` or BAKE_SERVICE, when the command is one a service runs. */
function serviceTarget(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  const i = argv.indexOf('--service');
  const url = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--service='))?.slice('--service='.length) ?? env['BAKE_SERVICE'];
  if (!url) return undefined;
  const command = argv.find((arg, j) => !arg.startsWith('-') && !['-C', '--workspace', '--service'].includes(argv[j - 1] ?? ''));
  return command && REMOTE_COMMANDS.has(command) && !argv.includes('--help') && !argv.includes('-h') ? url : undefined;
}

function stripServiceFlag(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--service') {
      i++;
      continue;
    }
    if (argv[i]?.startsWith('--service=')) continue;
    out.push(argv[i] as string);
  }
  return out;
}

function reportError(error: unknown, json: boolean, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): number {
  if (error instanceof BakeError) {
    if (json) io.stdout.write(`${JSON.stringify({ error: { kind: error.kind, message: error.message, ...error.details() } }, null, 2)}\n`);
    io.stderr.write(`bake: ${error.message}\n`);
    if (process.env['BAKE_DEBUG'] && error.cause) io.stderr.write(`cause: ${String((error.cause as Error).stack ?? error.cause)}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) io.stdout.write(`${JSON.stringify({ error: { kind: 'internal', message: String((error as Error)?.message ?? error) } }, null, 2)}\n`);
  io.stderr.write(`bake: internal error: ${message}\n`);
  return ExitCode.error;
}
