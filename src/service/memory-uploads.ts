import type { TreeEntry } from '../tree/tree.js';

/** Uploads of at most this many bytes are held in memory, not unpacked to disk (a commit's small tree). */
export const MEMORY_UPLOAD_BYTES = 256 * 1024;

/** Bytes of uploads one service process holds in memory at most; the least recently used go first. */
const BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Small uploads a `bake serve` process holds as checked trees in memory, by the hex of their
 * digest. Unpacking a one-file tree to `.bake/uploads/` and reading it back was most of the file
 * system calls of a small commit through the service; a tree that only lives until its commit
 * does not need a disk. Nothing is lost with the process: an upload it no longer holds is
 * answered as missing (UploadMissingError), and the client uploads it again, as it does for an
 * upload made to another replica. Bounded: at most BUDGET_BYTES, least recently used dropped first.
 */
export class MemoryUploads {
  private readonly trees = new Map<string, { entries: readonly TreeEntry[]; bytes: number }>();
  private bytes = 0;

  constructor(private readonly budget = BUDGET_BYTES) {}

  /** The tree of an upload held here (now the most recently used), or undefined. */
  get(hex: string): readonly TreeEntry[] | undefined {
    const held = this.trees.get(hex);
    if (!held) return undefined;
    this.trees.delete(hex);
    this.trees.set(hex, held);
    return held.entries;
  }

  /** Lets an upload go (its copy in the shared store failed). */
  delete(hex: string): void {
    const held = this.trees.get(hex);
    if (!held) return;
    this.trees.delete(hex);
    this.bytes -= held.bytes;
  }

  /** Holds an upload's checked tree, `bytes` the archive's size; drops the least recently used past the budget. */
  put(hex: string, entries: readonly TreeEntry[], bytes: number): void {
    if (this.get(hex)) return;
    this.trees.set(hex, { entries, bytes });
    this.bytes += bytes;
    for (const [oldest, held] of this.trees) {
      if (this.bytes <= this.budget) break;
      this.trees.delete(oldest);
      this.bytes -= held.bytes;
    }
  }
}
