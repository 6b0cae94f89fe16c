import type { TableSpec } from '../catalog/types.ts';
import type { Row } from '../pipedrive/row.ts';
import type { ChangeEvent } from './change.ts';
import { Paged, SparsePaged16 } from './paged.ts';
import { SlotTable } from './slot-table.ts';

/** A row's key as one string (stable for equal keys). */
export function keyString(spec: TableSpec, row: Row): string {
  return spec.primaryKey.length === 1 ? String(row[spec.primaryKey[0]!]) : JSON.stringify(spec.primaryKey.map((k) => row[k] ?? null));
}

export function keyOf(spec: TableSpec, row: Row): Row {
  return Object.fromEntries(spec.primaryKey.map((k) => [k, row[k] ?? null]));
}

/** The child columns that hold the parent's key, in order (`$parent.<field>` paths). */
export function parentLink(child: TableSpec): Array<{ column: string; parentField: string }> {
  return child.columns.filter((c) => c.path?.startsWith('$parent.')).map((c) => ({ column: c.name, parentField: c.path!.slice('$parent.'.length) }));
}

/** A pass over every key of a table (KeyIndex.sweep): what it saw, and then the live keys it did not. */
export interface KeySweep {
  readonly index: KeyIndex;
  /** Live keys when the sweep began (the delete guard's "of"). */
  readonly liveAtStart: number;
  see(key: string): void;
  /**
   * The keys not seen, as rows, among the slots the index held when the sweep began: those live at the
   * start (`start`, an id scan's base), or those live now (`now`, a full import's: it publishes as it reads).
   */
  unseen(liveAt: 'start' | 'now'): Row[];
}

/** A KeyIndex as plain arrays in slot order, each as consecutive chunks (KeyIndex.exportState / fromState). */
export interface KeyIndexState {
  /** Each slot's id when it fits 32 bits unsigned; NO_ID (slot-table.ts) where it does not (then in `otherIds`). */
  readonly smallIds: readonly Uint32Array[];
  /** Ids of other kinds by slot: strings, and integers beyond 32 bits. */
  readonly otherIds: ReadonlyArray<readonly [number, string | number]>;
  readonly flags: readonly Uint8Array[];
  /** Source times' whole seconds (where the flags say there is one and it is not in `otherTimes`). */
  readonly seconds: readonly Uint32Array[];
  /** The milliseconds past those seconds, by slot, where not 0. */
  readonly millis: ReadonlyArray<readonly [number, number]>;
  /** Source times outside [0, 2^32) s or not in whole ms, by slot. */
  readonly otherTimes: ReadonlyArray<readonly [number, number]>;
  /** A content hash's 72 bits: the top 32 of each 36-bit half, then their low 4 bits as one byte. */
  readonly hashHi: readonly Uint32Array[];
  readonly hashLo: readonly Uint32Array[];
  readonly hashLow4: readonly Uint8Array[];
  readonly oddHashes: ReadonlyArray<readonly [number, string]>;
}

const LIVE = 1;
const HAS_TS = 2;
const HAS_HASH = 4;
/** Content hashes are 12 base64url characters (72 bits): two 36-bit halves, kept in 9 bytes (see setHash). */
const HASH_CHARS = 12;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64URL.length; i++) B64_VALUE[B64URL.charCodeAt(i)] = i;

function half(hash: string, from: number): number {
  let v = 0;
  for (let i = from; i < from + HASH_CHARS / 2; i++) v = v * 64 + B64_VALUE[hash.charCodeAt(i)]!;
  return v;
}

function halfText(v: number): string {
  let s = '';
  for (let i = 0; i < HASH_CHARS / 2; i++) {
    s = B64URL[v % 64]! + s;
    v = Math.floor(v / 64);
  }
  return s;
}

function packable(hash: string): boolean {
  if (hash.length !== HASH_CHARS) return false;
  for (let i = 0; i < HASH_CHARS; i++) if ((B64_VALUE[hash.charCodeAt(i)] ?? -1) < 0) return false;
  return true;
}

/** Whether a source time is whole milliseconds in [0, 2^32) s: kept as seconds (Uint32) and the ms past them. */
const inSeconds = (ms: number): boolean => Number.isInteger(ms) && ms >= 0 && ms < 2 ** 32 * 1000;

/**
 * The keys currently live in a table's topic, as published and committed. Needed where deletes are found by
 * absence: id scans (known ids no longer listed) and child tables (children no longer in the parent's
 * array); and, for tables whose history is rebuilt from a changelog, the source time of each key's last
 * published version (deleted keys too: they may come back), so no version is rebuilt twice; and the
 * content hash of each live key's last row (a row equal to it is not published again). Rebuilt from the
 * compacted topic at start (time and hash from each record's headers), then kept current from committed
 * events.
 *
 * Sized for millions of keys: 32-bit integer keys find their slot through typed arrays (slot-table.ts;
 * other keys through a map), and the slot's flags, time (its seconds in 32 bits; the ms past them in pages
 * made only where they are not 0: Pipedrive's times are whole seconds) and hash (9 bytes) are typed arrays
 * too — about 22–29 bytes a key and no object per key for the garbage collector to walk. A slot is never freed (a deleted key keeps its time);
 * the arrays grow a page of 65,536 slots at a time (paged.ts), never by copying.
 */
export class KeyIndex {
  private slots = new SlotTable();
  private flags = new Paged<Uint8Array>((n) => new Uint8Array(n));
  private seconds = new Paged<Uint32Array>((n) => new Uint32Array(n));
  /** ms past the second (an event timed by this process's clock, say: a delete found by absence). */
  private millis = new SparsePaged16();
  /** Times outside what `seconds` and `millis` hold (none in practice): kept as they are. */
  private readonly otherTimes = new Map<number, number>();
  private hashHi = new Paged<Uint32Array>((n) => new Uint32Array(n));
  private hashLo = new Paged<Uint32Array>((n) => new Uint32Array(n));
  private hashLow4 = new Paged<Uint8Array>((n) => new Uint8Array(n));
  /** Hashes not in our 12-character form (none are written today): kept as they are. */
  private readonly oddHashes = new Map<number, string>();
  private used = 0;
  private liveCount = 0;
  private readonly byParent = new Map<string, Set<string | number>>();
  private readonly link: Array<{ column: string; parentField: string }>;
  /** Single-column integer keys are held as numbers: no string per key. */
  private readonly numeric: boolean;
  private readonly keyColumn: string | undefined;

  constructor(readonly spec: TableSpec) {
    this.link = parentLink(spec);
    this.keyColumn = spec.primaryKey.length === 1 ? spec.primaryKey[0] : undefined;
    this.numeric = this.keyColumn !== undefined && spec.columns.find((c) => c.name === this.keyColumn)?.type === 'long';
  }

  /** A committed change: deletes drop the key, anything else adds it. */
  apply(event: Pick<ChangeEvent, 'key' | 'row' | 'op'> & { readonly sourceTsMs?: number; readonly hash?: string }): void {
    const id = this.idOfRow(event.key);
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.newSlot();
      this.slots.add(id, slot);
    }
    let f = this.flags.get(slot);
    if (event.sourceTsMs !== undefined) {
      this.setTime(slot, event.sourceTsMs);
      f |= HAS_TS;
    }
    if (event.hash !== undefined && event.op !== 'd') {
      f |= HAS_HASH;
      if (packable(event.hash)) {
        this.setHash(slot, event.hash);
        this.oddHashes.delete(slot);
      } else this.oddHashes.set(slot, event.hash);
    } else f &= ~HAS_HASH;
    const parent = this.parentOfChild(event.row);
    if (event.op === 'd') {
      if (f & LIVE) this.liveCount--;
      this.flags.set(slot, f & ~LIVE);
      if (parent !== undefined) this.byParent.get(parent)?.delete(id);
      return;
    }
    if (!(f & LIVE)) this.liveCount++;
    this.flags.set(slot, f | LIVE);
    if (parent !== undefined) {
      let set = this.byParent.get(parent);
      if (!set) this.byParent.set(parent, (set = new Set()));
      set.add(id);
    }
  }

  /**
   * Loads a key read from the topic: `live` false for a tombstone; `sourceTsMs` from the record's header
   * (absent in topics written before it existed). Child rows carry the parent key in their key.
   */
  load(key: Row, live: boolean, sourceTsMs?: number, hash?: string): void {
    this.apply({ key, row: key, op: live ? 'u' : 'd', sourceTsMs, hash });
  }

  /** Remembers a live key's content hash learnt elsewhere (an offset written before hashes were headers). */
  rememberHash(key: string, hash: string): void {
    const slot = this.slotOf(key);
    if (slot === undefined || !(this.flags.get(slot) & LIVE) || this.flags.get(slot) & HAS_HASH) return;
    this.flags.set(slot, this.flags.get(slot) | HAS_HASH);
    if (packable(hash)) this.setHash(slot, hash);
    else this.oddHashes.set(slot, hash);
  }

  /** Content hash of the key's last published row, if live and known. */
  hashOf(key: string): string | undefined {
    const slot = this.slotOf(key);
    if (slot === undefined || (this.flags.get(slot) & (LIVE | HAS_HASH)) !== (LIVE | HAS_HASH)) return undefined;
    if (this.oddHashes.has(slot)) return this.oddHashes.get(slot);
    const low4 = this.hashLow4.get(slot);
    return halfText(this.hashHi.get(slot) * 16 + (low4 >>> 4)) + halfText(this.hashLo.get(slot) * 16 + (low4 & 15));
  }

  private setTime(slot: number, ms: number): void {
    if (!inSeconds(ms)) {
      this.otherTimes.set(slot, ms);
      return;
    }
    const s = Math.floor(ms / 1000);
    this.seconds.set(slot, s);
    this.millis.set(slot, ms - s * 1000);
    if (this.otherTimes.size !== 0) this.otherTimes.delete(slot);
  }

  /** Each 36-bit half: its top 32 bits in a Uint32 slot, its low 4 in one nibble of a shared byte. */
  private setHash(slot: number, hash: string): void {
    const hi = half(hash, 0);
    const lo = half(hash, HASH_CHARS / 2);
    this.hashHi.set(slot, Math.floor(hi / 16));
    this.hashLo.set(slot, Math.floor(lo / 16));
    this.hashLow4.set(slot, ((hi % 16) << 4) | (lo % 16));
  }

  /** Source time of the key's last published version (live or deleted), if known. */
  publishedAt(key: string): number | undefined {
    const slot = this.slotOf(key);
    if (slot === undefined || !(this.flags.get(slot) & HAS_TS)) return undefined;
    return (this.otherTimes.size !== 0 ? this.otherTimes.get(slot) : undefined) ?? this.seconds.get(slot) * 1000 + this.millis.get(slot);
  }

  /** Whether the key was ever applied or loaded (live or deleted since). */
  knows(key: string): boolean {
    return this.slotOf(key) !== undefined;
  }

  has(key: string): boolean {
    const slot = this.slotOf(key);
    return slot !== undefined && (this.flags.get(slot) & LIVE) !== 0;
  }

  /** Live keys (as rows), for id scans. */
  keys(): Map<string, Row> {
    return new Map(this.liveKeys());
  }

  /** Live keys one at a time (key string, key row): no map of the whole table. */
  *liveKeys(): Generator<[string, Row]> {
    for (let slot = 0; slot < this.used; slot++) {
      if (!(this.flags.get(slot) & LIVE)) continue;
      const id = this.slots.idAt(slot);
      yield [String(id), this.rowOf(id)];
    }
  }

  /**
   * A pass over the whole table that finds the live keys it did not see (id scans, full imports): a bit a
   * slot instead of a set of every key string. Keys the index learns after the sweep began count as seen
   * (they were published during the pass, so they exist).
   */
  sweep(): KeySweep {
    const base = this.used;
    const baseLive = this.liveCount;
    // 0: live at the start and not seen yet; 1: seen; 2: not live at the start and not seen.
    const seen = new Uint8Array(base);
    for (let slot = 0; slot < base; slot++) if (!(this.flags.get(slot) & LIVE)) seen[slot] = 2;
    return {
      index: this,
      liveAtStart: baseLive,
      see: (key) => {
        const slot = this.slotOf(key);
        if (slot !== undefined && slot < base) seen[slot] = 1;
      },
      unseen: (liveAt) => {
        const out: Row[] = [];
        for (let slot = 0; slot < base; slot++) {
          const unseen = liveAt === 'start' ? seen[slot] === 0 : seen[slot] !== 1 && (this.flags.get(slot) & LIVE) !== 0;
          if (unseen) out.push(this.rowOf(this.slots.idAt(slot)));
        }
        return out;
      },
    };
  }

  /** Live child keys of one parent row (by the parent's fields). */
  childrenOf(parentRow: Readonly<Record<string, unknown>>): Row[] {
    const pk = JSON.stringify(this.link.map((l) => parentRow[l.parentField] ?? null));
    return [...(this.byParent.get(pk) ?? [])].map((id) => this.rowOf(id));
  }

  get size(): number {
    return this.liveCount;
  }

  /**
   * The index as plain arrays, in slot order (for a snapshot, key-index-snapshot.ts). Numeric ids are
   * numbers, others their key strings; a slot's parent link is derived again from its key on import.
   */
  exportState(): KeyIndexState {
    const { small, others } = this.slots.exportIds(this.used);
    return {
      smallIds: small,
      otherIds: others,
      flags: this.flags.views(this.used),
      seconds: this.seconds.views(this.used),
      millis: this.millis.nonZero(this.used),
      otherTimes: [...this.otherTimes],
      hashHi: this.hashHi.views(this.used),
      hashLo: this.hashLo.views(this.used),
      hashLow4: this.hashLow4.views(this.used),
      oddHashes: [...this.oddHashes],
    };
  }

  /**
   * An index holding what `exportState` returned. The arrays are taken as they are (views into a snapshot
   * file's bytes, say: nothing is copied until the index grows), so the caller must not change them.
   */
  static fromState(spec: TableSpec, state: KeyIndexState): KeyIndex {
    const index = new KeyIndex(spec);
    const lengthOf = (chunks: readonly { length: number }[]) => chunks.reduce((sum, c) => sum + c.length, 0);
    const n = lengthOf(state.smallIds);
    if ([state.flags, state.seconds, state.hashHi, state.hashLo, state.hashLow4].some((a) => lengthOf(a) !== n)) {
      throw new Error(`key index of ${spec.name}: arrays of different lengths`);
    }
    try {
      index.slots = SlotTable.from(state.smallIds, state.otherIds);
    } catch (err) {
      throw new Error(`key index of ${spec.name}: ${(err as Error).message}`);
    }
    index.flags = Paged.of<Uint8Array>((k) => new Uint8Array(k), state.flags);
    index.seconds = Paged.of<Uint32Array>((k) => new Uint32Array(k), state.seconds);
    index.hashHi = Paged.of<Uint32Array>((k) => new Uint32Array(k), state.hashHi);
    index.hashLo = Paged.of<Uint32Array>((k) => new Uint32Array(k), state.hashLo);
    index.hashLow4 = Paged.of<Uint8Array>((k) => new Uint8Array(k), state.hashLow4);
    index.used = n;
    const flags = index.flags;
    for (let slot = 0; slot < n; slot++) {
      if (!(flags.get(slot) & LIVE)) continue;
      index.liveCount++;
      if (index.link.length === 0) continue;
      const id = index.slots.idAt(slot);
      const parent = index.parentOfChild(index.rowOf(id))!;
      let set = index.byParent.get(parent);
      if (!set) index.byParent.set(parent, (set = new Set()));
      set.add(id);
    }
    for (const [slot, hash] of state.oddHashes) {
      if (!(slot >= 0 && slot < n)) throw new Error(`key index of ${spec.name}: a hash for slot ${slot} of ${n}`);
      index.oddHashes.set(slot, hash);
    }
    for (const [slot, ms] of state.millis) {
      if (!(slot >= 0 && slot < n) || !(Number.isInteger(ms) && ms > 0 && ms < 1000)) throw new Error(`key index of ${spec.name}: ms ${ms} for slot ${slot} of ${n}`);
      index.millis.set(slot, ms);
    }
    for (const [slot, ms] of state.otherTimes) {
      if (!(slot >= 0 && slot < n) || typeof ms !== 'number') throw new Error(`key index of ${spec.name}: a time for slot ${slot} of ${n}`);
      index.otherTimes.set(slot, ms);
    }
    return index;
  }

  /** The map key of a key string (as keyString gives it). */
  private slotOf(key: string): number | undefined {
    return this.slots.get(this.idOf(key));
  }

  private idOf(key: string): string | number {
    if (!this.numeric) return key;
    const n = Number(key);
    return Number.isSafeInteger(n) && String(n) === key ? n : key;
  }

  private idOfRow(key: Row): string | number {
    const v = this.numeric ? key[this.keyColumn!] : undefined;
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : this.idOf(keyString(this.spec, key));
  }

  private rowOf(id: string | number): Row {
    if (typeof id === 'number') return { [this.keyColumn!]: id };
    // A string id in a numeric table is not a canonical integer ('007'): kept as it came, so its key stays the same.
    if (this.keyColumn !== undefined) return { [this.keyColumn]: id };
    const values = JSON.parse(id) as unknown[];
    return Object.fromEntries(this.spec.primaryKey.map((k, i) => [k, values[i] ?? null])) as Row;
  }

  private newSlot(): number {
    const slot = this.used++;
    for (const a of [this.flags, this.seconds, this.hashHi, this.hashLo, this.hashLow4]) a.ensure(slot);
    return slot;
  }

  private parentOfChild(row: Row): string | undefined {
    if (this.link.length === 0) return undefined;
    return JSON.stringify(this.link.map((l) => row[l.column] ?? null));
  }
}
