import { open, stat } from 'node:fs/promises';
import { InputError, type Problem } from '../util/errors.js';

/**
 * How much YAML bake is willing to read. bake.yaml and recipes declare services and images; none
 * comes near these limits, while a hostile or broken file (an alias bomb, a data dump, thousands of
 * nested brackets) would otherwise cost minutes and gigabytes before any error. Each limit is
 * refused with a problem naming the file and the fix, as an InputError (exit 2).
 */
export const YAML_LIMITS = {
  /**
   * Bytes of one file; larger files are refused before they are read. yaml needs up to 0.7 s and
   * 200 MB for the costliest 256 KiB (a flat list of 130 000 numbers), four times that for 1 MiB.
   */
  bytes: 256 * 1024,
  /** Mappings and lists inside each other, counting what aliases stand for. */
  depth: 64,
  /** Values that aliases may stand for in one file, all aliases together. */
  aliasValues: 10_000,
} as const;

const SIZE = `${YAML_LIMITS.bytes / 1024} KiB`;

interface Where {
  line: number;
  column: number;
}

/**
 * The text of a YAML file, refusing before reading it when it is larger than the limit (or is not
 * a regular file, which could be endless). Throws InputError when it cannot be read.
 */
export async function readLimitedText(path: string, display: string): Promise<string> {
  const info = await stat(path).catch((error: unknown) => {
    throw unreadable(display, error);
  });
  if (info.isDirectory()) throw new InputError([{ file: display, message: `cannot read ${display}: it is a directory` }]);
  if (!info.isFile()) {
    throw new InputError([
      { file: display, message: `cannot read ${display}: it is not a regular file`, fix: `make ${display} a plain file` },
    ]);
  }
  if (info.size > YAML_LIMITS.bytes) throw new InputError([tooLarge(display, info.size)]);
  // Read at most one byte past the limit: the file may have grown since stat().
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw unreadable(display, error);
  });
  try {
    const buffer = Buffer.alloc(YAML_LIMITS.bytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > YAML_LIMITS.bytes) throw new InputError([tooLarge(display, length)]);
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

function unreadable(display: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
  return new InputError([{ file: display, message: `cannot read ${display}: ${reason}` }], { cause: error });
}

/** The problem of a file over the size limit; `size` in bytes. */
export function tooLarge(display: string, size: number): Problem {
  return {
    file: display,
    message: `${display} is ${size} bytes, more than the ${SIZE} (${YAML_LIMITS.bytes} bytes) bake reads`,
    fix: `keep ${display} under ${SIZE}: it declares services and images; data belongs in the services' own files`,
  };
}

/** The problem of values nested deeper than the limit, at the first value too deep. */
export function tooDeep(display: string, at: Where): Problem {
  return {
    file: display,
    ...at,
    message: `values are nested more than ${YAML_LIMITS.depth} levels deep (mappings and lists inside each other)`,
    fix: `flatten ${display}: its keys need only a few levels, e.g. services.NAME.env.KEY`,
  };
}

/** The problem of aliases standing for more values than the limit, at the alias that crossed it. */
export function tooManyAliasValues(display: string, at: Where): Problem {
  return {
    file: display,
    ...at,
    message: `YAML aliases stand for more than ${YAML_LIMITS.aliasValues} values in all (aliases of aliases multiply: an alias bomb?)`,
    fix: `write the repeated values out in ${display}, or alias only small values`,
  };
}
