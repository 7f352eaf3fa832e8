import type { ParseArgsConfig } from 'node:util';
import type { ProgressSink } from '../util/progress.js';

/** What every command receives: the global options, already parsed. */
export interface CommandContext {
  workspace: string;
  json: boolean;
  env: NodeJS.ProcessEnv;
  progress: ProgressSink;
}

/** What a command returns: the JSON document for --json, and the lines a person reads. */
export interface CommandOutput {
  json: unknown;
  human: string[];
  exitCode?: number;
}

export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** One subcommand of the CLI. Only the CLI layer knows about argv, stdout and exit codes. */
export interface Command {
  name: string;
  summary: string;
  /** Full help text, shown by `bake <command> --help`. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Whether positional arguments are accepted. */
  positionals: boolean;
  run(ctx: CommandContext, positionals: string[], values: Values): Promise<CommandOutput>;
}
