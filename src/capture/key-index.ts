import type { TableSpec } from '../catalog/types.ts';
import type { Row } from '../pipedrive/row.ts';
import type { ChangeEvent } from './change.ts';
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

/** A KeyIndex as plain arrays in slot order (KeyIndex.exportState / fromState). */
export interface KeyIndexState {
  /** Each slot's numeric id; NaN where the id is a string (then in `stringIds`). */
  readonly numericIds: Float64Array;
  readonly stringIds: ReadonlyArray<readonly [number, string]>;
  readonly flags: Uint8Array;
  readonly times: Float64Array;
  /** A content hash's 72 bits: the top 32 of each 36-bit half, then their low 4 bits as one byte. */
  readonly hashHi: Uint32Array;
  readonly hashLo: Uint32Array;
  readonly hashLow4: Uint8Array;
  readonly odd: ReadonlyArray<readonly [number, string]>;
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

/**
 * The keys currently live in a table's topic, as published and committed. Needed where deletes are found by
 * absence: id scans (known ids no longer listed) and child tables (children no longer in the parent's
 * array); and, for tables whose history is rebuilt from a changelog, the source time of each key's last
 * published version (deleted keys too: they may come back), so no version is rebuilt twice; and the
 * content hash of each live key's last row (a row equal to it is not published again). Rebuilt from the
 * compacted topic at start (time and hash from each record's headers), then kept current from committed
 * events.
 *
 * Sized for millions of keys: integer keys find their slot through typed arrays (slot-table.ts; other keys
 * through a map), and the slot's flags, time and hash are typed arrays too — about 35 bytes a key and no
 * object per key for the garbage collector to walk. A slot is never freed (a deleted key keeps its time);
 * the arrays grow by doubling.
 */
export class KeyIndex {
  private slots = new SlotTable();
  private flags: Uint8Array = new Uint8Array(1024);
  private times: Float64Array = new Float64Array(1024);
  private hashHi: Uint32Array = new Uint32Array(1024);
  private hashLo: Uint32Array = new Uint32Array(1024);
  private hashLow4: Uint8Array = new Uint8Array(1024);
  /** Hashes not in our 12-character form (none are written today): kept as they are. */
  private readonly odd = new Map<number, string>();
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
    let f = this.flags[slot]!;
    if (event.sourceTsMs !== undefined) {
      this.times[slot] = event.sourceTsMs;
      f |= HAS_TS;
    }
    if (event.hash !== undefined && event.op !== 'd') {
      f |= HAS_HASH;
      if (packable(event.hash)) {
        this.setHash(slot, event.hash);
        this.odd.delete(slot);
      } else this.odd.set(slot, event.hash);
    } else f &= ~HAS_HASH;
    const parent = this.parentOfChild(event.row);
    if (event.op === 'd') {
      if (f & LIVE) this.liveCount--;
      this.flags[slot] = f & ~LIVE;
      if (parent !== undefined) this.byParent.get(parent)?.delete(id);
      return;
    }
    if (!(f & LIVE)) this.liveCount++;
    this.flags[slot] = f | LIVE;
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
    if (slot === undefined || !(this.flags[slot]! & LIVE) || this.flags[slot]! & HAS_HASH) return;
    this.flags[slot]! |= HAS_HASH;
    if (packable(hash)) this.setHash(slot, hash);
    else this.odd.set(slot, hash);
  }

  /** Content hash of the key's last published row, if live and known. */
  hashOf(key: string): string | undefined {
    const slot = this.slotOf(key);
    if (slot === undefined || (this.flags[slot]! & (LIVE | HAS_HASH)) !== (LIVE | HAS_HASH)) return undefined;
    if (this.odd.has(slot)) return this.odd.get(slot);
    const low4 = this.hashLow4[slot]!;
    return halfText(this.hashHi[slot]! * 16 + (low4 >>> 4)) + halfText(this.hashLo[slot]! * 16 + (low4 & 15));
  }

  /** Each 36-bit half: its top 32 bits in a Uint32 slot, its low 4 in one nibble of a shared byte. */
  private setHash(slot: number, hash: string): void {
    const hi = half(hash, 0);
    const lo = half(hash, HASH_CHARS / 2);
    this.hashHi[slot] = Math.floor(hi / 16);
    this.hashLo[slot] = Math.floor(lo / 16);
    this.hashLow4[slot] = ((hi % 16) << 4) | (lo % 16);
  }

  /** Source time of the key's last published version (live or deleted), if known. */
  publishedAt(key: string): number | undefined {
    const slot = this.slotOf(key);
    return slot !== undefined && this.flags[slot]! & HAS_TS ? this.times[slot] : undefined;
  }

  /** Whether the key was ever applied or loaded (live or deleted since). */
  knows(key: string): boolean {
    return this.slotOf(key) !== undefined;
  }

  has(key: string): boolean {
    const slot = this.slotOf(key);
    return slot !== undefined && (this.flags[slot]! & LIVE) !== 0;
  }

  /** Live keys (as rows), for id scans. */
  keys(): Map<string, Row> {
    return new Map(this.liveKeys());
  }

  /** Live keys one at a time (key string, key row): no map of the whole table. */
  *liveKeys(): Generator<[string, Row]> {
    for (let slot = 0; slot < this.used; slot++) {
      if (!(this.flags[slot]! & LIVE)) continue;
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
    for (let slot = 0; slot < base; slot++) if (!(this.flags[slot]! & LIVE)) seen[slot] = 2;
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
          const unseen = liveAt === 'start' ? seen[slot] === 0 : seen[slot] !== 1 && (this.flags[slot]! & LIVE) !== 0;
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
    const { numeric, strings } = this.slots.exportIds(this.used);
    return {
      numericIds: numeric,
      stringIds: strings,
      flags: this.flags.subarray(0, this.used),
      times: this.times.subarray(0, this.used),
      hashHi: this.hashHi.subarray(0, this.used),
      hashLo: this.hashLo.subarray(0, this.used),
      hashLow4: this.hashLow4.subarray(0, this.used),
      odd: [...this.odd],
    };
  }

  /**
   * An index holding what `exportState` returned. The arrays are taken as they are (views into a snapshot
   * file's bytes, say: nothing is copied until the index grows), so the caller must not change them.
   */
  static fromState(spec: TableSpec, state: KeyIndexState): KeyIndex {
    const index = new KeyIndex(spec);
    const n = state.numericIds.length;
    if (state.flags.length !== n || state.times.length !== n || state.hashHi.length !== n || state.hashLo.length !== n || state.hashLow4.length !== n) {
      throw new Error(`key index of ${spec.name}: arrays of different lengths`);
    }
    try {
      index.slots = SlotTable.from(state.numericIds, state.stringIds);
    } catch (err) {
      throw new Error(`key index of ${spec.name}: ${(err as Error).message}`);
    }
    index.flags = state.flags;
    index.times = state.times;
    index.hashHi = state.hashHi;
    index.hashLo = state.hashLo;
    index.hashLow4 = state.hashLow4;
    index.used = n;
    const flags = state.flags;
    for (let slot = 0; slot < n; slot++) {
      if (!(flags[slot]! & LIVE)) continue;
      index.liveCount++;
      if (index.link.length === 0) continue;
      const id = index.slots.idAt(slot);
      const parent = index.parentOfChild(index.rowOf(id))!;
      let set = index.byParent.get(parent);
      if (!set) index.byParent.set(parent, (set = new Set()));
      set.add(id);
    }
    for (const [slot, hash] of state.odd) {
      if (!(slot >= 0 && slot < n)) throw new Error(`key index of ${spec.name}: a hash for slot ${slot} of ${n}`);
      index.odd.set(slot, hash);
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
    if (this.used === this.flags.length) {
      const grow = <T extends Uint8Array | Uint32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(Math.max(1024, a.length * 2));
        b.set(a);
        return b;
      };
      this.flags = grow(this.flags);
      this.times = grow(this.times);
      this.hashHi = grow(this.hashHi);
      this.hashLo = grow(this.hashLo);
      this.hashLow4 = grow(this.hashLow4);
    }
    return this.used++;
  }

  private parentOfChild(row: Row): string | undefined {
    if (this.link.length === 0) return undefined;
    return JSON.stringify(this.link.map((l) => row[l.column] ?? null));
  }
}
