import { readFile } from 'node:fs/promises';
import { InputError } from '../util/errors.js';

/** What a bearer token may do: read (status, log) or write (everything the service runs). */
export type Role = 'read' | 'write';

/** What a token grants, and the name the operator gave it (recorded with what its callers do). */
export interface Grant {
  role: Role;
  name?: string;
}

/**
 * Loads tokens from a file of `read TOKEN [NAME]` / `write TOKEN [NAME]` lines (# comments
 * allowed). Throws InputError naming the file and line for anything else, or for a token shorter
 * than 16 characters.
 */
export async function loadTokens(file: string): Promise<Map<string, Grant>> {
  const tokens = new Map<string, Grant>();
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [role, token, name, ...rest] = line.split(/\s+/);
    if ((role !== 'read' && role !== 'write') || !token || rest.length > 0 || token.length < 16) {
      throw new InputError([
        {
          file,
          line: i + 1,
          column: 1,
          message: 'expected "read TOKEN [NAME]" or "write TOKEN [NAME]" (a token of 16 or more characters)',
          fix: 'one role, one token and optionally a name per line',
        },
      ]);
    }
    tokens.set(token, { role, ...(name !== undefined && { name }) });
  });
  return tokens;
}

/** What a request's `Authorization: Bearer …` grants, if anything. */
export function grantOf(tokens: ReadonlyMap<string, Grant>, authorization: string | undefined): Grant | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return match?.[1] ? tokens.get(match[1]) : undefined;
}

/** Who a remote request's writes are recorded as: the caller's actor, under the token's name when it has one. */
export function recordedActor(grant: Grant, actor: string | undefined): string {
  const who = actor ?? 'unknown';
  return grant.name !== undefined ? `${grant.name} (${who})` : who;
}
