import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../src/cli/command.js';
import { GLOBAL_OPTIONS } from '../../src/cli/options.js';
import { bake } from '../helpers/bake-cli.js';

const COMMANDS_DIR = fileURLToPath(new URL('../../src/cli/commands/', import.meta.url));

/** Every command module's exported command, read from the source so a new one is covered without listing it here. */
async function commandModules(): Promise<Command[]> {
  const files = (await readdir(COMMANDS_DIR)).filter((f) => f.endsWith('.ts')).sort();
  const found: Command[] = [];
  for (const file of files) {
    const mod = (await import(`${COMMANDS_DIR}${file}`)) as Record<string, unknown>;
    const commands = Object.values(mod).filter((v): v is Command => typeof v === 'object' && v !== null && 'help' in v && 'options' in v);
    expect(commands, `${file} exports one command`).toHaveLength(1);
    found.push(...(commands as Command[]));
  }
  return found;
}

/** `--name` as a whole flag: not the start of a longer one (`--build` is not in `--build-x`). */
const mentions = (text: string, option: string) => new RegExp(`--${option}(?![\\w-])`).test(text);

/** The options of a help text that a command does not declare: none is the contract. */
function missingOptions(command: Command, text: string): string[] {
  return command.options.filter((o) => !mentions(text, o));
}

describe('help texts', () => {
  let commands: Command[];
  beforeAll(async () => {
    commands = await commandModules();
  });

  it('finds every command module', () => {
    expect(commands.length).toBeGreaterThanOrEqual(20);
    expect(new Set(commands.map((c) => c.name)).size).toBe(commands.length);
  });

  it('every command --help exits 0, prints its help, and mentions each option it accepts', async () => {
    const problems: string[] = [];
    for (const command of commands) {
      const run = await bake([command.name, '--help']);
      if (run.exitCode !== 0) problems.push(`${command.name} --help exited ${run.exitCode}: ${run.stderr}`);
      if (run.stdout.trim() !== command.help.trim()) problems.push(`${command.name} --help printed something else than its help`);
      const missing = missingOptions(command, run.stdout);
      if (missing.length > 0) problems.push(`${command.name} --help does not mention ${missing.map((o) => `--${o}`).join(', ')}`);
      if (!run.stdout.startsWith(`Usage: bake ${command.name}`)) problems.push(`${command.name} --help does not start with its usage`);
    }
    expect(problems).toEqual([]);
  });

  it('bake --help exits 0 and lists every command with its summary, under where it runs when a service is named', async () => {
    const run = await bake(['--help']);
    expect(run.exitCode, run.stderr).toBe(0);
    const sections = run.stdout.split('\n\n');
    const section = (heading: RegExp) => sections.find((s) => heading.test(s.split('\n')[0] ?? '')) ?? '';
    const bySection = {
      forward: section(/^Through a bake service/),
      refuse: section(/^Where the environment's engine or the store is/),
      ignore: section(/^Local by nature/),
    };
    for (const command of commands) {
      const line = new RegExp(`^  ${command.name} +${command.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
      expect(bySection[command.service], `${command.name} (${command.service}) with its summary`).toMatch(line);
    }
    const forwarded = commands.filter((c) => c.service === 'forward').map((c) => c.name);
    expect(forwarded.sort()).toEqual(['build', 'commit', 'gc', 'log', 'push', 'release', 'revoke', 'status', 'unrevoke']);
    for (const option of GLOBAL_OPTIONS) expect(mentions(run.stdout, option), `--${option}`).toBe(true);
    // Without a command it is the same help; an unknown one is a usage error.
    expect((await bake([])).stdout).toBe(run.stdout);
    expect((await bake(['no-such-command'])).exitCode).toBe(2);
  });

  it('bake serve --help says what runs there and how the token file is written', async () => {
    const run = await bake(['serve', '--help']);
    expect(run.exitCode).toBe(0);
    for (const name of ['commit', 'build', 'release', 'push', 'status', 'log', 'gc', 'revoke', 'unrevoke', 'latest'])
      expect(run.stdout, name).toMatch(new RegExp(`\\b${name}\\b`));
    expect(run.stdout).toContain('write|read TOKEN|sha256:<hex> [NAME]');
    expect(run.stdout).toContain('chmod 600');
  });

  it('catches a help text that leaves an option out', () => {
    const command = { name: 'x', summary: '', help: 'Usage: bake x [--build-id N]', options: ['build', 'env'] } as unknown as Command;
    expect(missingOptions(command, command.help)).toEqual(['build', 'env']);
  });
});
