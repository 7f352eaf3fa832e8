import { spawn } from 'node:child_process';
import { GitError } from '../util/errors.js';
import { mapLimit } from '../util/map-limit.js';
import { run } from '../util/exec.js';

/** The last commit that touched a directory: its id is the revision, its time the bake clock. */
export interface LastCommit {
  revision: string;
  /** Commit time, seconds since the epoch. */
  time: number;
  /** `Name <email>` of the author. */
  author: string;
}

const FORMAT = '%x01%H %P%x00%ct%x00%an <%ae>';

/**
 * The last commit before `head` that touched each path (as `git log -1 HEAD -- path` answers), for
 * many paths with one history walk instead of one `git log` per path (each spawn forks the whole
 * Node process). The walk stops as soon as every path is answered. Where history merges, the
 * union walk's simplification may differ from a single path's, so paths still open when the walk
 * meets a merge are answered one `git log -1` each. Paths without a commit are absent.
 * `seen`, when given, collects every commit id the walk read (each commit listed and its parents):
 * all are `head` or its ancestors, which proves the history gate's common case without asking git
 * again (the version recorded last is often the parent of the commit that changed the service).
 * Throws GitError.
 */
export async function lastCommits(
  top: string,
  head: string,
  paths: readonly string[],
  seen?: Set<string>,
): Promise<Map<string, LastCommit>> {
  const found = new Map<string, LastCommit>();
  const open = new Set(paths);
  // The repository root is touched by every commit: no walk needed, and no pathspec to give.
  if (open.has('')) {
    const [root] = await onePerPath(top, head, ['']);
    if (root) found.set('', root);
    open.delete('');
  }
  if (open.size === 0) return found;
  const left = await walk(top, head, open, found, seen);
  const rest = await onePerPath(top, head, [...left]);
  [...left].forEach((path, i) => {
    const commit = rest[i];
    if (commit) found.set(path, commit);
  });
  return found;
}

/** One `git log --name-only` over the union of the paths; resolves with the paths it could not answer. */
function walk(top: string, head: string, open: Set<string>, found: Map<string, LastCommit>, seen?: Set<string>): Promise<Set<string>> {
  return new Promise((resolve, reject) => {
    const args = ['--literal-pathspecs', '-C', top, 'log', '-z', '--no-renames', `--format=${FORMAT}`, '--name-only', head, '--', ...open];
    const child = spawn('git', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let stderr = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      child.kill();
      resolve(open);
    };
    // Returns false when the walk can stop: every path answered, or a merge reached.
    const record = (body: string): boolean => {
      const [ids = '', time = '', author = '', ...files] = body.split('\0');
      const [revision = '', ...parents] = ids.split(' ').filter((p) => p !== '');
      // `git log HEAD` lists only commits reachable from HEAD: these and their parents are ancestors.
      if (seen && revision !== '') for (const id of [revision, ...parents]) seen.add(id);
      if (parents.length > 1) return false;
      const commit = { revision, time: Number(time), author };
      for (const raw of files) {
        const file = raw.replace(/^\n/, '');
        if (file === '') continue;
        // The file and each directory above it: a lookup per level, not a comparison per open path.
        for (let path = file; path !== ''; path = path.slice(0, Math.max(0, path.lastIndexOf('/')))) {
          if (open.delete(path)) found.set(path, commit);
        }
      }
      return open.size > 0;
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (done) return;
      text += chunk;
      // A record is complete once the next one starts.
      let end = text.indexOf('\x01', 1);
      while (end > 0) {
        if (!record(text.slice(1, end))) return finish();
        text = text.slice(end);
        end = text.indexOf('\x01', 1);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (error) => {
      done = true;
      reject(new GitError(`cannot run git log in ${top}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code) => {
      if (done) return;
      if (code !== 0) {
        done = true;
        return reject(new GitError(`cannot read the history of ${[...open].join(', ')} (git: ${stderr.trim() || `exit ${code}`})`));
      }
      if (text.startsWith('\x01')) record(text.slice(1));
      finish();
    });
  });
}

/** `git log -1` per path, four at a time: the exact answer, for what the walk left open. */
function onePerPath(top: string, head: string, paths: readonly string[]): Promise<(LastCommit | undefined)[]> {
  return mapLimit(paths, 4, async (path) => {
    const args = [
      '--literal-pathspecs',
      '-C',
      top,
      'log',
      '-1',
      '--format=%H%x00%ct%x00%an <%ae>',
      head,
      ...(path === '' ? [] : ['--', path]),
    ];
    let result;
    try {
      result = await run('git', args);
    } catch (error) {
      throw new GitError(`cannot read the history of ${path || '.'}: git could not be run (install git)`, { cause: error });
    }
    if (result.exitCode !== 0) throw new GitError(`cannot read the history of ${path || '.'} (git: ${result.stderr.trim()})`);
    const [revision, time, author] = result.stdout.trim().split('\0');
    return revision ? { revision, time: Number(time), author: author ?? '' } : undefined;
  });
}
