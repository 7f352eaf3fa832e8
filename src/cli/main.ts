import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bakeClock } from '../util/clock.js';
import { ExitCode, UsageError } from '../util/errors.js';
import { classifyError, InternalError } from '../util/internal-error.js';
import { escapeTerminal } from '../util/terminal-text.js';
import type { ProgressSink } from '../util/progress.js';
import type { Command } from './command.js';
import { GLOBAL_OPTIONS, OPTIONS, parseArgsConfig, parseOptionValues } from './options.js';
import { clearProgress, progressDisplay } from './progress-display.js';

/**
 * Commands load on demand: a command pays only for the modules it uses (start-up time matters).
 * Their summaries and service policies live with them; `bake --help` loads them all to list them.
 */
const commands: { name: string; load(): Promise<Command> }[] = [
  { name: 'commit', load: async () => (await import('./commands/commit.js')).commitCommand },
  { name: 'build', load: async () => (await import('./commands/build.js')).buildCommand },
  { name: 'release', load: async () => (await import('./commands/release.js')).releaseCommand },
  { name: 'push', load: async () => (await import('./commands/push.js')).pushCommand },
  { name: 'status', load: async () => (await import('./commands/status.js')).statusCommand },
  { name: 'log', load: async () => (await import('./commands/log.js')).logCommand },
  { name: 'gc', load: async () => (await import('./commands/gc.js')).gcCommand },
  { name: 'revoke', load: async () => (await import('./commands/revoke.js')).revokeCommand },
  { name: 'unrevoke', load: async () => (await import('./commands/unrevoke.js')).unrevokeCommand },
  { name: 'migrate', load: async () => (await import('./commands/migrate.js')).migrateCommand },
  { name: 'export', load: async () => (await import('./commands/export.js')).exportCommand },
  { name: 'deploy', load: async () => (await import('./commands/deploy.js')).deployCommand },
  { name: 'promote', load: async () => (await import('./commands/promote.js')).promoteCommand },
  { name: 'rollback', load: async () => (await import('./commands/rollback.js')).rollbackCommand },
  { name: 'abort', load: async () => (await import('./commands/abort.js')).abortCommand },
  { name: 'upgrade', load: async () => (await import('./commands/upgrade.js')).upgradeCommand },
  { name: 'toggle', load: async () => (await import('./commands/toggle.js')).toggleCommand },
  { name: 'up', load: async () => (await import('./commands/up.js')).upCommand },
  { name: 'verify', load: async () => (await import('./commands/verify.js')).verifyCommand },
  { name: 'down', load: async () => (await import('./commands/down.js')).downCommand },
  { name: 'router', load: async () => (await import('./commands/router.js')).routerCommand },
  { name: 'serve', load: async () => (await import('./commands/serve.js')).serveCommand },
];

/** What each service policy means, said once for the command list. */
const POLICY_HEADINGS: Record<Command['service'], string> = {
  forward: 'Through a bake service when one is named (--service-url, BAKE_SERVICE), else locally:',
  refuse: "Where the environment's engine or the store is, never through a service (with one named they refuse at once, exit 2):",
  ignore: 'Local by nature (the service and the router themselves):',
};

/** `bake --help`: every command with its own summary, grouped by where it runs when a service is named. */
async function mainHelp(): Promise<string> {
  const loaded = await Promise.all(commands.map((c) => c.load()));
  const width = Math.max(...loaded.map((c) => c.name.length));
  const groups = (['forward', 'refuse', 'ignore'] as const).map((policy) => {
    const listed = loaded.filter((c) => c.service === policy).map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
    return `${POLICY_HEADINGS[policy]}\n${listed.join('\n')}`;
  });
  return `bake — bake committed service versions into reproducible, digest-addressed images

Usage: bake [-C DIR] [--json] <command> [options]

${groups.join('\n\n')}

Global options (every command):
  -C, --workspace DIR    the workspace (the directory holding bake.yaml); default: current directory
      --json             print one JSON document on stdout and nothing else there
      --service-url URL  run the first group's commands through the bake service at URL (also
                         BAKE_SERVICE; the token comes from BAKE_SERVICE_TOKEN, a private CA from
                         BAKE_SERVICE_CA); the second group's refuse while one is named.
                         \`--service URL\` still works where the command takes no --service of its own.
  -h, --help             show help; \`bake <command> --help\` for a command

Exit codes: 0 ok, 1 error, 2 usage or invalid input, 3 refused (stale, regression, conflict, behind,
diverged, moved, revoked, …).
Environment: SOURCE_DATE_EPOCH (the one clock), BAKE_ACTOR (who is acting), BAKE_DEBUG=* (debug log);
see the README for the lock, registry and service variables.`;
}

export { serveDaemon } from './daemon-server.js';

/** Where a run writes: the process's streams, and optionally a progress sink of the caller's. */
export interface MainIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  progress?: ProgressSink;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: MainIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const json = argv.includes('--json');
  try {
    const { entry, args } = findCommand(argv);
    if (!entry) {
      io.stdout.write(`${await mainHelp()}\n`);
      return argv.some((a) => a === '--help' || a === '-h') || argv.length === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const command = await entry.load();
    const names = [...GLOBAL_OPTIONS, ...command.options];
    let parsed;
    try {
      parsed = parseArgs({ args: legacyServiceFlag(args, command), options: parseArgsConfig(names), allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`bake ${command.name}: ${(error as Error).message} (see bake ${command.name} --help)`, { cause: error });
    }
    if (parsed.values['help']) {
      io.stdout.write(`${command.help}\n`);
      return ExitCode.ok;
    }
    if (!command.positionals && parsed.positionals.length > 0) {
      throw new UsageError(`bake ${command.name} takes no arguments, got ${parsed.positionals.join(' ')}`);
    }
    let values;
    try {
      values = parseOptionValues(names, parsed.values);
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`bake ${command.name}: ${error.message}`, { cause: error });
      throw error;
    }
    bakeClock(undefined, process.env); // a malformed SOURCE_DATE_EPOCH is refused before any work
    const serviceUrl = command.service === 'ignore' ? undefined : (values['service-url'] ?? process.env['BAKE_SERVICE']);
    if (serviceUrl && command.service === 'refuse') {
      throw new UsageError(
        `bake ${command.name} does not run through a bake service, and one is named (${values['service-url'] ? '--service-url' : 'BAKE_SERVICE'}=${serviceUrl}): ` +
          'run it without one, on the host that runs the environment',
      );
    }
    const progress = io.progress ?? progressDisplay(io.stderr as NodeJS.WriteStream);
    const output = await command.run(
      { workspace: resolve(values.workspace ?? '.'), json, env: process.env, progress, ...(serviceUrl && { serviceUrl }) },
      parsed.positionals,
      values,
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

/** The command named in argv (the first word that is not a global option's value) and the rest. */
function findCommand(argv: string[]): { entry?: (typeof commands)[number]; args: string[] } {
  const takesValue = new Set(
    GLOBAL_OPTIONS.filter((n) => OPTIONS[n].type === 'string').flatMap((n) => [
      `--${n}`,
      ...('short' in OPTIONS[n] ? [`-${OPTIONS[n].short}`] : []),
    ]),
  );
  const index = argv.findIndex((arg, i) => !arg.startsWith('-') && !takesValue.has(argv[i - 1] ?? ''));
  if (index < 0) return { args: argv };
  const entry = commands.find((c) => c.name === argv[index]);
  if (!entry) throw new UsageError(`unknown command ${argv[index]}; commands: ${commands.map((c) => c.name).join(', ')}`);
  return { entry, args: [...argv.slice(0, index), ...argv.slice(index + 1)] };
}

/** `--service URL` (the old spelling of --service-url) where the command has no --service of its own. */
function legacyServiceFlag(args: string[], command: Command): string[] {
  if ((command.options as readonly string[]).includes('service')) return args;
  return args.flatMap((arg) =>
    arg === '--service' ? ['--service-url'] : arg.startsWith('--service=') ? [`--service-url=${arg.slice('--service='.length)}`] : [arg],
  );
}

/**
 * Prints a failure: every error is a classified BakeError by the time it is shown (an unclassified
 * one becomes kind `internal`: a generic message naming the operation, with a fix). Stack traces
 * only with BAKE_DEBUG.
 */
function reportError(error: unknown, json: boolean, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): number {
  const classified = classifyError(error, { local: true });
  const document = { error: { kind: classified.kind, message: classified.message, ...classified.details() } };
  if (json) io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  const fix = classified instanceof InternalError ? ` (fix: ${classified.fix})` : '';
  // A message may quote recorded text (an author, a revision): shown, never obeyed by the terminal.
  io.stderr.write(`bake: ${escapeTerminal(`${classified.message}${fix}`)}\n`);
  if (process.env['BAKE_DEBUG']) {
    const cause = classified === error ? classified.cause : error;
    if (cause !== undefined) io.stderr.write(`cause: ${String((cause as Error).stack ?? cause)}\n`);
  }
  return classified.exitCode;
}
