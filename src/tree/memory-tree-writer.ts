import type { Readable } from 'node:stream';
import type { TreeWriter } from './tree-writer.js';
import { TreePaths } from './tree-paths.js';

/** A {@link TreeWriter} that keeps the tree in memory, for small trees only (an upload held by the service). */
export interface MemoryTreeWriter extends TreeWriter {
  /** The body written at `path`; undefined for anything that is not a file written here. */
  body(path: string): Buffer | undefined;
}

/**
 * A tree writer whose files are Buffers: the same rules as on disk (TreePaths: safe paths, each
 * once, nothing under a file or a link), with nothing touching the file system. The caller bounds
 * the size: every body is held whole.
 */
export function openMemoryTreeWriter(label: string): MemoryTreeWriter {
  const paths = new TreePaths(label);
  const bodies = new Map<string, Buffer>();
  return {
    async directory(path) {
      paths.directory(path);
    },
    async file(path, _mode, body: Buffer | Readable) {
      paths.leaf(path, 'file');
      if (Buffer.isBuffer(body)) {
        bodies.set(path, body);
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      // Copied: a chunk may be a view of the archive's larger buffer.
      bodies.set(path, Buffer.concat(chunks));
    },
    async symlink(path) {
      paths.leaf(path, 'symlink');
    },
    impliedDirectories: () => paths.implied(),
    body: (path) => bodies.get(path),
  };
}
