import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { InputError, type Problem } from '../util/errors.js';

/** What a bearer token may do: read (status, log) or write (everything the service runs). */
export type Role = 'read' | 'write';

/** What a token grants, and the name the operator gave it (recorded with what its callers do). */
export interface Grant {
  role: Role;
  name?: string;
}

/** One token as the service holds it: only the sha256 of the token, never the token itself. */
export interface TokenEntry {
  digest: Buffer;
  grant: Grant;
}

/** The tokens a service accepts. */
export type Tokens = readonly TokenEntry[];

const HASHED = /^sha256:([a-f0-9]{64})$/;

/** The sha256 of a token: what a token file's `sha256:<hex>` form holds, and what requests are compared by. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Loads tokens from a file of `ROLE TOKEN [NAME]` lines, ROLE `read` (status, log) or `write`,
 * TOKEN either the token itself (16 or more characters) or `sha256:<64 hex>`, the sha256 of it
 * (`printf %s "$TOKEN" | sha256sum`), so the file need not hold any secret; `#` comments allowed.
 * Only digests are kept in memory. Throws InputError naming the file (and line) when the file can
 * be read by group or others (fix: chmod 600), or holds anything else.
 */
export async function loadTokens(file: string): Promise<Tokens> {
  const info = await stat(file).catch((error: unknown) => {
    throw new InputError([{ file, message: `cannot read the token file (${(error as NodeJS.ErrnoException).code ?? 'error'})` }], {
      cause: error,
    });
  });
  if (!info.isFile()) throw new InputError([{ file, message: 'the token file is not a regular file' }]);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new InputError([
      { file, message: `the token file can be read or written by group or others (mode ${mode})`, fix: `chmod 600 ${file}` },
    ]);
  }
  const tokens: TokenEntry[] = [];
  const problems: Problem[] = [];
  (await readFile(file, 'utf8')).split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [role, token, name, ...rest] = line.split(/\s+/);
    const where = { file, line: i + 1, column: 1 };
    const hashed = token?.startsWith('sha256:') === true;
    if ((role !== 'read' && role !== 'write') || !token || rest.length > 0 || (hashed ? !HASHED.test(token) : token.length < 16)) {
      problems.push({
        ...where,
        message: 'expected "read TOKEN [NAME]" or "write TOKEN [NAME]" (a token of 16 or more characters, or sha256:<64 hex> of one)',
        fix: 'one role, one token and optionally a name per line',
      });
      return;
    }
    const digest = hashed ? Buffer.from(token.slice(7), 'hex') : hashToken(token);
    if (tokens.some((t) => t.digest.equals(digest))) {
      problems.push({ ...where, message: 'this token is already listed on an earlier line', fix: 'give each token one line (one role)' });
      return;
    }
    tokens.push({ digest, grant: { role, ...(name !== undefined && { name }) } });
  });
  if (problems.length > 0) throw new InputError(problems);
  return tokens;
}

/**
 * What a request's `Authorization: Bearer …` grants, if anything. The presented token is hashed
 * and compared with every stored digest in constant time (fixed-length digests, no early exit),
 * so neither the answer's timing nor a lookup structure tells how close a guess was.
 */
export function grantOf(tokens: Tokens, authorization: string | undefined): Grant | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const digest = hashToken(match[1]);
  let found: Grant | undefined;
  for (const entry of tokens) {
    if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry.grant;
  }
  return found;
}

/** Who a remote request's writes are recorded as: the caller's actor, under the token's name when it has one. */
export function recordedActor(grant: Grant, actor: string | undefined): string {
  const who = actor ?? 'unknown';
  return grant.name !== undefined ? `${grant.name} (${who})` : who;
}
