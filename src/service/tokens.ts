import { readFile } from 'node:fs/promises';
import { InputError } from '../util/errors.js';

/** What a bearer token may do: read (status, log) or write (everything the service runs). */
export type Role = 'read' | 'write';

/**
 * Loads tokens from a file of `read TOKEN` / `write TOKEN` lines (# comments allowed). Throws
 * InputError naming the file and line for anything else, or for a token shorter than 16 chars.
 */
export async function loadTokens(file: string): Promise<Map<string, Role>> {
  const tokens = new Map<string, Role>();
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [role, token, ...rest] = line.split(/\s+/);
    if ((role !== 'read' && role !== 'write') || !token || rest.length > 0 || token.length < 16) {
      throw new InputError([{ file, line: i + 1, column: 1, message: 'expected "read TOKEN" or "write TOKEN" (a token of 16 or more characters)', fix: 'one role and one token per line' }]);
    }
    tokens.set(token, role);
  });
  return tokens;
}

/** The role a request's `Authorization: Bearer …` grants, if any. */
export function roleOf(tokens: ReadonlyMap<string, Role>, authorization: string | undefined): Role | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1] ? tokens.get(match[1]) : undefined;
}

/** Commands a read token may run. */
export const READ_COMMANDS = new Set(['status', 'log']);
