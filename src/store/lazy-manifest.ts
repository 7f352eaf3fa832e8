import { MANIFEST_SCHEMA, type EnvironmentRecord, type ServiceHistory, type VersionManifest } from '../manifest/model.js';
import type { ChangeSet, ListLength } from './record-backend.js';
import { ENVIRONMENT_LISTS, indexedColumns, type RecordKind, SERVICE_LISTS, type StoredRow } from './record-kinds.js';
import { LazyList } from './lazy-list.js';
import type { RowCache } from './row-cache.js';

type ListTable = Record<string, RecordKind>;

/**
 * A VersionManifest over stored rows (row-cache.ts) that reads only what is touched, and says
 * afterwards what a write must store. One is made per run of a callback, from the same cache.
 * The three maps (services, builds, environments) are proxies: their keys come from the list
 * lengths the cache holds, and each section is made on first access. Assigning or deleting a
 * section, or any list in it, rewrites that list; records mutated in place are found by their JSON.
 */
export class LazyManifest {
  readonly manifest: VersionManifest;
  readonly #lists = new Map<string, LazyList<object>>();
  readonly #services: SectionMap<ServiceHistory>;
  readonly #builds: SectionMap<object[]>;
  readonly #environments: SectionMap<EnvironmentRecord>;
  readonly #interrupted: LazyList<object>;
  readonly #live = new Map<string, string>();

  constructor(private readonly cache: RowCache) {
    this.#services = new SectionMap(Object.values(SERVICE_LISTS), cache, (owner) => this.#section(SERVICE_LISTS, owner));
    this.#builds = new SectionMap(['build'], cache, (owner) => this.#list('build', owner).array);
    this.#environments = new SectionMap([...Object.values(ENVIRONMENT_LISTS), 'live'], cache, (owner) => ({
      ...this.#section(ENVIRONMENT_LISTS, owner),
      live: this.#readLive(owner),
    }));
    this.#interrupted = this.#list('interrupted', '');
    this.manifest = {
      schema: MANIFEST_SCHEMA,
      generation: cache.generation,
      services: this.#services.proxy,
      builds: this.#builds.proxy as VersionManifest['builds'],
      environments: this.#environments.proxy,
      interrupted: this.#interrupted.array as NonNullable<VersionManifest['interrupted']>,
    };
  }

  /** The rows and lengths to store for what the callback changed. */
  changes(generation: number): ChangeSet {
    const set: ChangeSet = { generation, cleared: [], rows: [], lengths: [] };
    for (const [owner, value] of this.#services.touched()) this.#sectionChanges(set, SERVICE_LISTS, owner, value);
    for (const [owner, value] of this.#builds.touched()) this.#listChanges(set, 'build', owner, value);
    for (const [owner, value] of this.#environments.touched()) {
      this.#sectionChanges(set, ENVIRONMENT_LISTS, owner, value);
      const live = value === undefined ? undefined : JSON.stringify(value.live ?? {});
      if (live === undefined) this.#remove(set, 'live', owner);
      else if (live !== this.#live.get(owner))
        this.#store(set, 'live', owner, true, [{ seq: 0, record: value?.live ?? {}, body: live }], 1);
    }
    this.#listChanges(set, 'interrupted', '', this.manifest.interrupted);
    return set;
  }

  #list(kind: RecordKind, owner: string): LazyList<object> {
    const key = `${kind}\u0000${owner}`;
    let list = this.#lists.get(key);
    if (!list) this.#lists.set(key, (list = new LazyList(kind, owner, this.cache)));
    return list;
  }

  #section<S>(table: ListTable, owner: string): S {
    return Object.fromEntries(Object.entries(table).map(([prop, kind]) => [prop, this.#list(kind, owner).array])) as S;
  }

  #readLive(owner: string): Record<string, number> {
    if ((this.cache.length('live', owner) ?? 0) === 0) {
      this.#live.set(owner, '{}');
      return {};
    }
    const body = this.cache.row('live', owner, 0);
    this.#live.set(owner, body);
    return JSON.parse(body) as Record<string, number>;
  }

  #sectionChanges(set: ChangeSet, table: ListTable, owner: string, value: object | undefined): void {
    for (const [prop, kind] of Object.entries(table)) {
      this.#listChanges(set, kind, owner, value === undefined ? undefined : ((value as Record<string, unknown>)[prop] ?? []));
    }
  }

  /** A list still ours is written row by row; one replaced by another array is written whole; a removed one is removed. */
  #listChanges(set: ChangeSet, kind: RecordKind, owner: string, value: unknown): void {
    if (value === undefined) return this.#remove(set, kind, owner);
    const mine = this.#lists.get(`${kind}\u0000${owner}`);
    if (mine && mine.array === value) {
      const { rewrite, rows, length } = mine.changes();
      if (rewrite || rows.length > 0) this.#store(set, kind, owner, rewrite, rows, length);
      return;
    }
    const records = Array.from(value as object[]);
    this.#store(
      set,
      kind,
      owner,
      true,
      records.map((record, seq) => ({ seq, record, body: JSON.stringify(record) })),
      records.length,
    );
  }

  #store(
    set: ChangeSet,
    kind: RecordKind,
    owner: string,
    clear: boolean,
    rows: { seq: number; record: object; body: string }[],
    length: number,
  ): void {
    if (clear) set.cleared.push({ kind, owner });
    for (const r of rows) set.rows.push({ kind, owner, seq: r.seq, body: r.body, ...indexedColumns(kind, r.record) } satisfies StoredRow);
    set.lengths.push({ kind, owner, length });
  }

  #remove(set: ChangeSet, kind: RecordKind, owner: string): void {
    if (this.cache.length(kind, owner) === undefined) return;
    set.cleared.push({ kind, owner });
    set.lengths.push({ kind, owner, length: -1 } satisfies ListLength);
  }
}

/**
 * services, builds or environments: a map whose keys are the owners of its kinds' lists, each value
 * made on first access; it remembers what was read, assigned or deleted.
 */
class SectionMap<S> {
  readonly proxy: Record<string, S>;
  readonly #made = new Map<string, S | undefined>();

  constructor(
    private readonly kinds: readonly RecordKind[],
    private readonly cache: RowCache,
    make: (owner: string) => S,
  ) {
    const exists = (owner: string) => kinds.some((k) => cache.length(k, owner) !== undefined);
    const get = (owner: string): S | undefined => {
      if (!this.#made.has(owner)) this.#made.set(owner, exists(owner) ? make(owner) : undefined);
      return this.#made.get(owner);
    };
    this.proxy = new Proxy({} as Record<string, S>, {
      get: (_t, prop) => (typeof prop === 'string' ? get(prop) : undefined),
      set: (_t, prop, value) => {
        if (typeof prop !== 'string') return false;
        this.#made.set(prop, value as S);
        return true;
      },
      deleteProperty: (_t, prop) => {
        if (typeof prop === 'string') this.#made.set(prop, undefined);
        return true;
      },
      has: (_t, prop) => typeof prop === 'string' && get(prop) !== undefined,
      ownKeys: () => this.#keys(),
      getOwnPropertyDescriptor: (_t, prop) => {
        if (typeof prop !== 'string') return undefined;
        const value = get(prop);
        return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
      },
    });
  }

  /** Sections read, assigned or deleted in this run (undefined: deleted or never there). */
  touched(): [string, S | undefined][] {
    return [...this.#made.entries()];
  }

  #keys(): string[] {
    const keys = new Set<string>();
    for (const kind of this.kinds) for (const owner of this.cache.owners(kind)) keys.add(owner);
    for (const [owner, value] of this.#made) {
      if (value === undefined) keys.delete(owner);
      else keys.add(owner);
    }
    return [...keys].sort();
  }
}
