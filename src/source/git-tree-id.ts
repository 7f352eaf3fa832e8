import { createHash } from 'node:crypto';
import { sortEntries, type TreeEntry } from '../tree/tree.js';

/**
 * The git tree id that `entries` would have if committed: the same id `git rev-parse HEAD:path`
 * gives. Lets a tree that arrives as an upload be recognised as the committed tree it came from,
 * so a commit through the service and a local commit of the same content are one version.
 * Undefined when an entry could not come from git (a mode other than 0644/0755, say).
 */
export async function gitTreeId(entries: readonly TreeEntry[]): Promise<string | undefined> {
  const children = new Map<string, TreeEntry[]>();
  for (const entry of sortEntries(entries)) {
    const slash = entry.path.lastIndexOf('/');
    const parent = slash < 0 ? '' : entry.path.slice(0, slash);
    children.set(parent, [...(children.get(parent) ?? []), entry]);
  }
  async function tree(dir: string): Promise<string | undefined> {
    const rows: { name: string; sortKey: string; mode: string; id: Buffer }[] = [];
    for (const entry of children.get(dir) ?? []) {
      const name = entry.path.slice(dir === '' ? 0 : dir.length + 1);
      if (entry.type === 'directory') {
        // git stores no empty directories
        if (!children.has(entry.path)) continue;
        const id = await tree(entry.path);
        if (id === undefined) return undefined;
        rows.push({ name, sortKey: `${name}/`, mode: '40000', id: Buffer.from(id, 'hex') });
      } else if (entry.type === 'symlink') {
        rows.push({ name, sortKey: name, mode: '120000', id: object('blob', Buffer.from(entry.linkTarget ?? '')) });
      } else {
        if (entry.mode !== 0o644 && entry.mode !== 0o755) return undefined;
        const body = entry.read ? await entry.read() : Buffer.alloc(0);
        rows.push({ name, sortKey: name, mode: entry.mode === 0o755 ? '100755' : '100644', id: object('blob', body) });
      }
    }
    rows.sort((a, b) => Buffer.compare(Buffer.from(a.sortKey), Buffer.from(b.sortKey)));
    const body = Buffer.concat(rows.flatMap((r) => [Buffer.from(`${r.mode} ${r.name}\0`), r.id]));
    return object('tree', body).toString('hex');
  }
  return tree('');
}

function object(type: 'blob' | 'tree', body: Buffer): Buffer {
  return createHash('sha1').update(`${type} ${body.length}\0`).update(body).digest();
}
