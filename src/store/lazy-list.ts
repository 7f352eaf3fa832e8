import type { RecordKind } from './record-kinds.js';
import type { RowCache } from './row-cache.js';

/** Asks a list for the records whose indexed field equals a value, without loading the list (see `whereIndexed`). */
export const INDEXED_LOOKUP = Symbol('bake.store.indexedLookup');
/** Asks a list for its last n records in one read (see `lastRecords`). */
export const LAST_RECORDS = Symbol('bake.store.lastRecords');

/** Array methods that reorder or remove elements: after one, the whole list is written again. */
const REORDERING = new Set(['splice', 'sort', 'reverse', 'shift', 'unshift', 'pop', 'fill', 'copyWithin']);

/**
 * One list of the manifest as an array that reads its rows only when they are touched: `length`,
 * `at(-1)`, `[i]` and `push` read at most one row; the indexed lookup reads only matching rows;
 * anything else (iteration, find, map, JSON…) reads the whole list once and then behaves as the
 * plain array it is. What changed is found by comparing each row read with its JSON
 * (`changes`), so callers mutate records in place as they always did.
 */
export class LazyList<T extends object> {
  readonly array: T[];
  readonly #target: T[];
  readonly #original = new Map<number, string>();
  readonly #initialLength: number;
  #rewrite = false;

  constructor(
    readonly kind: RecordKind,
    readonly owner: string,
    private readonly cache: RowCache,
  ) {
    this.#initialLength = cache.length(kind, owner) ?? 0;
    this.#target = new Array<T>(this.#initialLength);
    this.array = new Proxy(this.#target, this.#handler());
  }

  /** What a write must store: rows added or changed, or the whole list when it was reordered. */
  changes(): { rewrite: boolean; rows: { seq: number; record: T; body: string }[]; length: number } {
    const rows: { seq: number; record: T; body: string }[] = [];
    const length = this.#target.length;
    for (let seq = 0; seq < length; seq++) {
      if (!(seq in this.#target)) continue;
      const record = this.#target[seq] as T;
      const body = JSON.stringify(record);
      if (this.#rewrite || seq >= this.#initialLength || this.#original.get(seq) !== body) rows.push({ seq, record, body });
    }
    return { rewrite: this.#rewrite, rows, length };
  }

  #item(seq: number): T | undefined {
    if (seq < 0 || seq >= this.#target.length) return undefined;
    if (!(seq in this.#target)) {
      const body = this.cache.row(this.kind, this.owner, seq);
      this.#original.set(seq, body);
      this.#target[seq] = JSON.parse(body) as T;
    }
    return this.#target[seq];
  }

  #loadAll(): void {
    if (this.#target.length === 0) return;
    let missing = false;
    for (let seq = 0; seq < this.#initialLength && !missing; seq++) missing = !(seq in this.#target);
    if (!missing) return;
    const bodies = this.cache.all(this.kind, this.owner);
    for (let seq = 0; seq < this.#initialLength; seq++) {
      if (seq in this.#target) continue;
      const body = bodies[seq] as string;
      this.#original.set(seq, body);
      this.#target[seq] = JSON.parse(body) as T;
    }
  }

  /** Stored rows that matched when read, and records of this run that match now (new or changed), in order. */
  #indexed(field: string, value: string): T[] {
    const seqs = new Set(this.cache.where(this.kind, field, value, this.owner).map((p) => p.seq));
    for (let seq = 0; seq < this.#target.length; seq++) if (seq in this.#target) seqs.add(seq);
    return [...seqs]
      .sort((a, b) => a - b)
      .map((seq) => this.#item(seq))
      .filter((r): r is T => r !== undefined && (r as Record<string, unknown>)[field] === value);
  }

  #last(n: number): T[] {
    const from = Math.max(0, this.#target.length - n);
    const missing: number[] = [];
    for (let seq = from; seq < Math.min(this.#initialLength, this.#target.length); seq++) if (!(seq in this.#target)) missing.push(seq);
    if (missing.length > 0) this.cache.prefetch(this.kind, this.owner, missing);
    const out: T[] = [];
    for (let seq = from; seq < this.#target.length; seq++) out.push(this.#item(seq) as T);
    return out;
  }

  #handler(): ProxyHandler<T[]> {
    const index = (prop: string | symbol): number | undefined =>
      typeof prop === 'string' && /^(0|[1-9]\d*)$/.test(prop) ? Number(prop) : undefined;
    return {
      get: (target, prop, receiver) => {
        if (prop === 'length') return target.length;
        const i = index(prop);
        if (i !== undefined) return this.#item(i);
        if (prop === 'at') return (n: number) => this.#item(n < 0 ? target.length + n : n);
        if (prop === 'push') {
          return (...items: T[]) => {
            for (const item of items) target[target.length] = item;
            return target.length;
          };
        }
        if (prop === INDEXED_LOOKUP) return (field: string, value: string) => this.#indexed(field, value);
        if (prop === LAST_RECORDS) return (n: number) => this.#last(n);
        this.#loadAll();
        if (typeof prop === 'string' && REORDERING.has(prop)) this.#rewrite = true;
        return Reflect.get(target, prop, receiver);
      },
      set: (target, prop, value, receiver) => {
        const i = index(prop);
        if (i !== undefined && i < target.length) this.#item(i);
        else if (i !== undefined && i > target.length) this.#rewrite = true;
        if (prop === 'length' && value !== target.length) {
          this.#loadAll();
          this.#rewrite = true;
        }
        return Reflect.set(target, prop, value, receiver);
      },
      deleteProperty: (target, prop) => {
        this.#loadAll();
        this.#rewrite = true;
        return Reflect.deleteProperty(target, prop);
      },
      has: (target, prop) => {
        const i = index(prop);
        return i !== undefined ? i < target.length : Reflect.has(target, prop);
      },
      ownKeys: (target) => {
        this.#loadAll();
        return Reflect.ownKeys(target);
      },
      getOwnPropertyDescriptor: (target, prop) => {
        const i = index(prop);
        if (i !== undefined) this.#item(i);
        return Reflect.getOwnPropertyDescriptor(target, prop);
      },
    };
  }
}

/**
 * The records of `list` whose indexed field equals `value`: read through the index when the list is
 * a stored one (record-kinds.ts INDEXED_FIELDS), else by scanning. Hot paths use this instead of
 * `find`/`filter`, which would read a whole list.
 */
export function whereIndexed<T extends object>(list: readonly T[], field: keyof T & string, value: string): T[] {
  const lookup = (list as unknown as Record<symbol, unknown>)[INDEXED_LOOKUP];
  if (typeof lookup === 'function') return (lookup as (f: string, v: string) => T[])(field, value);
  return list.filter((r) => (r as Record<string, unknown>)[field] === value);
}

/** The last `n` records of `list` (fewer when it is shorter), read in one go from a stored list. */
export function lastRecords<T extends object>(list: readonly T[], n: number): T[] {
  const last = (list as unknown as Record<symbol, unknown>)[LAST_RECORDS];
  if (typeof last === 'function') return (last as (n: number) => T[])(n);
  return list.slice(Math.max(0, list.length - n));
}
