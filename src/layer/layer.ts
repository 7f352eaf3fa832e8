import type { LayoutStore } from '../oci/layout-store.js';
import { MediaType, type Descriptor } from '../oci/media-types.js';
import { withGitModes } from '../tree/git-modes.js';
import { sortEntries, type TreeEntry } from '../tree/tree.js';
import type { Digest } from '../util/digest.js';
import { rememberBodies, reuseBodies } from './layer-bodies.js';
import { tarBytes, tarStreamOf } from './tar-writer.js';

/** A stored layer: its descriptor plus the diff ID the image config lists (equal when uncompressed). */
export interface Layer {
  descriptor: Descriptor;
  diffId: `sha256:${string}`;
}

export interface LayerOptions {
  /** Directory the entries are installed under, e.g. `/srv/catalog`; `/` or empty for a rootfs. */
  prefix: string;
  /** Seconds since the epoch for every mtime: the bake clock. */
  mtime: number;
  /**
   * `git`: modes as git gives them (0644/0755 files, 0755 directories; no setuid, setgid or
   * sticky bit), whatever the source. `keep`: as given, for a root filesystem, whose own modes (a
   * sticky /tmp) are part of it. Default: `git` under a prefix (a service), `keep` at the root.
   */
  modes?: 'git' | 'keep';
  /**
   * Where the layers' body indexes are kept (layer-bodies.ts), and a layer of the same service
   * this one likely shares files with (its latest version's): an unchanged git blob is copied
   * from that layer's file instead of read from git again.
   */
  bodies?: { dir: string; previous?: Digest };
}

/**
 * Packs entries (already checked safe) into a deterministic tar layer under `prefix` and stores
 * it. The prefix's own directories are included with mode 0755 so extraction never depends on
 * the base having them. Same entries, prefix and clock give the same digest, always.
 */
export async function writeLayer(store: LayoutStore, entries: readonly TreeEntry[], options: LayerOptions): Promise<Layer> {
  const prefix = options.prefix.replace(/^\/+|\/+$/g, '');
  const placed: TreeEntry[] = [];
  if (prefix !== '') {
    const parts = prefix.split('/');
    for (let i = 1; i <= parts.length; i++) {
      placed.push({ path: parts.slice(0, i).join('/'), type: 'directory', mode: 0o755, size: 0 });
    }
  }
  const modes = options.modes ?? (prefix === '' ? 'keep' : 'git');
  for (const entry of modes === 'git' ? withGitModes(entries) : entries) {
    const path = prefix === '' ? entry.path : `${prefix}/${entry.path}`;
    if (entry.path !== '') placed.push({ ...entry, path });
  }
  const sorted = sortEntries(dedupe(placed));
  // A small layer (the supervisor's, a monorepo service's) is made in memory and hashed before
  // anything is written: a rebuild that already has it writes no file at all, and one that does
  // not writes it in one go, without a stream between the tar and the file.
  const small = placed.reduce((sum, e) => sum + e.size, 0) <= SMALL_BYTES;
  if (small) {
    const { digest, size } = await store.putBytes(await tarBytes(sorted, { mtime: options.mtime }));
    return { descriptor: { mediaType: MediaType.layer, digest, size }, diffId: digest };
  }
  const reuse = options.bodies;
  const bodies = reuse?.previous ? reuseBodies(reuse.previous, store.blobPath(reuse.previous), sorted, reuse.dir) : sorted;
  const { digest, size } = await store.putStream(tarStreamOf(bodies, { mtime: options.mtime }));
  if (reuse) rememberBodies(digest, sorted, options.mtime, reuse.dir);
  return { descriptor: { mediaType: MediaType.layer, digest, size }, diffId: digest };
}

/**
 * Files of at most this many bytes in all: the layer is built in memory. Bounded, so memory
 * stays bounded too: commit packs at most eight services at once (8 MiB).
 */
const SMALL_BYTES = 1024 * 1024;

/** A source may list a directory the prefix already created; keep the source's entry. */
function dedupe(entries: TreeEntry[]): TreeEntry[] {
  const byPath = new Map<string, TreeEntry>();
  for (const entry of entries) byPath.set(entry.path, entry);
  return [...byPath.values()];
}
