import type { AppContext } from '../app/context.js';
import type { OptionName, OptionValues } from './options.js';

/** What every command receives: the use-case context plus what only the CLI knows. */
export interface CommandContext extends AppContext {
  json: boolean;
  /** The bake service to run through (`--service-url` or BAKE_SERVICE), when one is named. */
  serviceUrl?: string;
}

/** What a command returns: the JSON document for --json, and the lines a person reads. */
export interface CommandOutput {
  json: unknown;
  human: string[];
  exitCode?: number;
}

/**
 * One subcommand of the CLI: parse → call a use case → render. Only the CLI layer knows about
 * argv, stdout and exit codes; `values` arrive already parsed and range-checked (cli/options.ts).
 */
export interface Command<K extends OptionName = OptionName> {
  name: string;
  summary: string;
  /** Full help text, shown by `bake <command> --help`. */
  help: string;
  /** The options it accepts besides the global ones, by name in the shared option table. */
  options: readonly K[];
  /** Whether positional arguments are accepted. */
  positionals: boolean;
  /**
   * What it does when a bake service is named (`--service-url`, BAKE_SERVICE): `forward` runs it
   * there; `refuse` is exit 2 at once, never a silent run against a local manifest; `ignore` is
   * for the commands that are local by nature (serve, router).
   */
  service: 'forward' | 'refuse' | 'ignore';
  run(ctx: CommandContext, positionals: string[], values: OptionValues<K>): Promise<CommandOutput>;
}

/** Declares a command; the type parameter ties `run`'s values to the options listed. */
export function defineCommand<K extends OptionName>(command: Command<K>): Command {
  return command as unknown as Command;
}
