import type { ChangeSet, ListLength, RecordReader, RowQuery, StoreMeta } from './record-backend.js';
import { STORE_SCHEMA } from './record-tables.js';
import { indexColumn, indexedColumns, listKey, type RecordKind, type RecordRow, type StoredRow } from './record-kinds.js';

/**
 * The rows one transaction has read, as JSON text, so each run of a callback parses fresh objects
 * from them. A row that is not here yet is read at once from a synchronous backend; from an
 * asynchronous one the read cannot happen inside a property access, so the access throws
 * NeedRows, the store reads them, and the callback runs again from the start (record-store.ts).
 * Misses are widened so a command needs few of those runs: a list's last row brings the last row
 * of every list of its kind, a list read whole stays whole.
 */
export class RowCache {
  readonly #reader: RecordReader;
  readonly #lengths = new Map<string, number>();
  readonly #rows = new Map<string, Map<number, string>>();
  readonly #whole = new Set<string>();
  readonly #tails = new Set<RecordKind>();
  readonly #queries = new Map<string, { owner: string; seq: number }[]>();
  /** Rows written by this batch and not yet by the database, and lists it rewrote (record-store.ts). */
  readonly #unwritten = new Map<string, StoredRow>();
  readonly #rewritten = new Set<string>();
  /** Set when an access needed rows this cache lacked: that run's outcome cannot be trusted. */
  missed: RowQuery | undefined;

  private constructor(
    reader: RecordReader,
    public meta: StoreMeta | undefined,
    lengths: ListLength[],
  ) {
    this.#reader = reader;
    for (const l of lengths) this.#lengths.set(listKey(l.kind, l.owner), l.length);
  }

  /** Reads the meta row and every list's length: one row per service, image and environment, not per record. */
  static async start(reader: RecordReader): Promise<RowCache> {
    const begun = reader.start
      ? await reader.start()
      : { ...(await Promise.all([reader.meta(), reader.lists()]).then(([meta, lists]) => ({ meta, lists }))), warm: reader.warm };
    const cache = new RowCache(reader, begun.meta, begun.lists);
    if (begun.warm) {
      cache.#addRows(begun.warm);
      for (const l of begun.lists) cache.#tails.add(l.kind);
    }
    return cache;
  }

  get generation(): number {
    return this.meta?.generation ?? 0;
  }

  /** Owners that have a list of `kind`. */
  owners(kind: RecordKind): string[] {
    const prefix = listKey(kind, '');
    return [...this.#lengths.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  length(kind: RecordKind, owner: string): number | undefined {
    return this.#lengths.get(listKey(kind, owner));
  }

  /** The JSON of one row; reads (or asks for) it when missing. */
  row(kind: RecordKind, owner: string, seq: number): string {
    const key = listKey(kind, owner);
    const have = this.#rows.get(key)?.get(seq);
    if (have !== undefined) return have;
    const last = (this.#lengths.get(key) ?? 0) - 1;
    this.#fetch(seq === last && !this.#tails.has(kind) ? { kind, tails: this.#tailsOf(kind) } : { kind, owner, seqs: [seq] });
    const got = this.#rows.get(key)?.get(seq);
    if (got === undefined) throw new Error(`store: row ${kind} ${owner} #${seq} is missing (list length ${last + 1})`);
    return got;
  }

  /** Every row of one list, in order. */
  all(kind: RecordKind, owner: string): string[] {
    const key = listKey(kind, owner);
    if (!this.#whole.has(key)) this.#fetch({ kind, owner, all: true });
    const rows = this.#rows.get(key) ?? new Map<number, string>();
    const length = this.#lengths.get(key) ?? 0;
    return Array.from({ length }, (_, seq) => {
      const body = rows.get(seq);
      if (body === undefined) throw new Error(`store: row ${kind} ${owner} #${seq} is missing`);
      return body;
    });
  }

  /** Reads these rows of one list now (or asks for them), so the accesses that follow find them. */
  prefetch(kind: RecordKind, owner: string, seqs: number[]): void {
    const have = this.#rows.get(listKey(kind, owner));
    const missing = seqs.filter((seq) => have?.get(seq) === undefined);
    if (missing.length > 0) this.#fetch({ kind, owner, seqs: missing });
  }

  /** Positions of the rows whose indexed `field` equals `value`, in one list or (no owner) all of the kind. */
  where(kind: RecordKind, field: string, value: string, owner?: string): { owner: string; seq: number }[] {
    if (indexColumn(kind, field) === undefined) throw new Error(`store: ${kind}.${field} is not indexed`);
    const query: RowQuery = { kind, field, value, ...(owner !== undefined && { owner }) };
    const key = JSON.stringify(query);
    if (!this.#queries.has(key)) this.#fetch(query);
    const stored = (this.#queries.get(key) ?? []).filter((p) => !this.#unwritten.has(rowKey(kind, p.owner, p.seq)));
    // Rows this transaction wrote but the database has not yet: matched here, by their JSON.
    const written = [...this.#unwritten.values()].filter(
      (r) =>
        r.kind === kind &&
        (owner === undefined || r.owner === owner) &&
        indexedColumns(kind, JSON.parse(r.body))[indexColumn(kind, field) ?? 'k1'] === value,
    );
    return [...stored, ...written.map((r) => ({ owner: r.owner, seq: r.seq }))];
  }

  /** The position of the last row of every non-empty list of a kind, at the lengths this cache holds. */
  #tailsOf(kind: RecordKind): { owner: string; seq: number }[] {
    return this.owners(kind).flatMap((owner) => {
      const length = this.length(kind, owner) ?? 0;
      return length > 0 ? [{ owner, seq: length - 1 }] : [];
    });
  }

  /**
   * Takes in what a callback of this batch wrote, so the next one reads it: rows, lengths and the
   * generation. The database gets them later, all at once (record-store.ts); until then they win
   * over what it answers, and index lookups match them by their JSON.
   */
  absorb(changes: ChangeSet): void {
    for (const c of changes.cleared) {
      const key = listKey(c.kind, c.owner);
      this.#rows.delete(key);
      this.#whole.add(key);
      this.#rewritten.add(key);
      for (const [k, r] of this.#unwritten) if (listKey(r.kind, r.owner) === key) this.#unwritten.delete(k);
    }
    for (const r of changes.rows) {
      this.#unwritten.set(rowKey(r.kind, r.owner, r.seq), r);
      let list = this.#rows.get(listKey(r.kind, r.owner));
      if (!list) this.#rows.set(listKey(r.kind, r.owner), (list = new Map()));
      list.set(r.seq, r.body);
    }
    for (const l of changes.lengths) {
      const key = listKey(l.kind, l.owner);
      if (l.length >= 0) this.#lengths.set(key, l.length);
      else {
        this.#lengths.delete(key);
        this.#rows.delete(key);
      }
    }
    this.meta = { schema: this.meta?.schema ?? STORE_SCHEMA, generation: changes.generation };
  }

  /** Reads what the last run missed (asynchronous backends). */
  async load(query: RowQuery): Promise<void> {
    this.#add(query, await this.#reader.rows(query));
  }

  #fetch(query: RowQuery): void {
    if (this.#reader.rowsSync) {
      this.#add(query, this.#reader.rowsSync(query));
      return;
    }
    this.missed ??= query;
    throw new NeedRows(query);
  }

  #add(query: RowQuery, rows: RecordRow[]): void {
    this.#addRows(rows);
    if ('all' in query) this.#whole.add(listKey(query.kind, query.owner));
    if ('tails' in query) this.#tails.add(query.kind);
    if ('field' in query)
      this.#queries.set(
        JSON.stringify(query),
        rows.map((r) => ({ owner: r.owner, seq: r.seq })),
      );
  }

  #addRows(rows: RecordRow[]): void {
    for (const r of rows) {
      const key = listKey(r.kind, r.owner);
      // What this transaction wrote wins over what the database still holds.
      if (this.#rewritten.has(key) || this.#unwritten.has(rowKey(r.kind, r.owner, r.seq))) continue;
      let list = this.#rows.get(key);
      if (!list) this.#rows.set(key, (list = new Map()));
      list.set(r.seq, r.body);
    }
  }
}

/** Thrown by a property access that needs rows an asynchronous backend must read first. */
export class NeedRows extends Error {
  override name = 'NeedRows';
  constructor(readonly query: RowQuery) {
    super(`store: the rows ${JSON.stringify(query)} must be read first (this is retried, never reported)`);
  }
}

function rowKey(kind: RecordKind, owner: string, seq: number): string {
  return `${listKey(kind, owner)}\u0000${seq}`;
}
