/**
 * The slot of each key of a KeyIndex. Ids that fit 32 bits unsigned (every Pipedrive integer key: ids count
 * up from 1) live in typed arrays: the id of each slot in a paged Uint32Array (paged.ts), and slot + 1 of
 * each id either in an open-addressing table (linear probing, at most three quarters full: 5–11 bytes a
 * key) or, where the ids are dense, as Pipedrive's are (a table's ids count up, a few deleted), directly
 * at the id's place in pages of 4,096 ids made where there are ids (4 bytes a key when dense; no hashing).
 * No object or string per key either way, and the garbage collector never walks them. A Map holds the other ids (strings: UUIDs, composite keys as JSON; and integers beyond 32
 * bits or below 0), whose slots keep NO_ID as their 32-bit id. Slots are handed out by the caller in order
 * 0, 1, 2… and never freed.
 */
import { Paged } from './paged.ts';

/** The 32-bit id of a slot whose id is in the map (or that has no id yet); never an id itself. */
export const NO_ID = 0xffffffff;
const DIRECT_BITS = 12;
const DIRECT_PAGE = 1 << DIRECT_BITS;
const DIRECT_MASK = DIRECT_PAGE - 1;
const idPage = (n: number): Uint32Array => new Uint32Array(n).fill(NO_ID);

/** Whether an id is kept in the typed arrays (an integer in [0, NO_ID)). */
const small = (id: string | number): id is number => typeof id === 'number' && id >= 0 && id < NO_ID && Number.isInteger(id);

export class SlotTable {
  /** The 32-bit id of each slot (NO_ID: the id is in `others`, or no slot yet). */
  private idsOf: Paged<Uint32Array>;
  /** slot + 1 of each 32-bit id at its probe position; 0 is empty (hash mode: `direct` undefined). */
  private table: Int32Array;
  private mask: number;
  /** slot + 1 of each 32-bit id at its place in its page (direct mode), or undefined (hash mode). */
  private direct: Array<Int32Array | undefined> | undefined;
  private directPages = 0;
  private smallCount = 0;
  private readonly others = new Map<string | number, number>();
  private readonly otherOfSlot = new Map<number, string | number>();

  constructor() {
    this.idsOf = new Paged(idPage);
    this.table = new Int32Array(tableSizeFor(0));
    this.mask = this.table.length - 1;
  }

  /**
   * A table over `chunks`, the 32-bit id of each slot in order (taken as views, not copied: NO_ID where a
   * slot's id is another), and the other ids by slot.
   */
  static from(chunks: readonly Uint32Array[], others: Iterable<readonly [number, string | number]>): SlotTable {
    const t = new SlotTable();
    const ids = (t.idsOf = Paged.of(idPage, chunks));
    const n = chunks.reduce((sum, c) => sum + c.length, 0);
    if (!t.toDirect(n, tableSizeFor(n))) {
      t.table = new Int32Array(tableSizeFor(n));
      t.mask = t.table.length - 1;
      for (let slot = 0; slot < n; slot++) {
        const id = ids.get(slot);
        if (id === NO_ID) continue;
        if (!t.insert(id, slot)) throw new Error(`a key appears twice (${id})`);
      }
    }
    for (const [slot, id] of others) {
      if (!(Number.isInteger(slot) && slot >= 0 && slot < n) || ids.get(slot) !== NO_ID || t.otherOfSlot.has(slot)) throw new Error(`the id of slot ${slot} is out of place`);
      if (typeof id === 'number' ? !Number.isSafeInteger(id) || small(id) : typeof id !== 'string') throw new Error(`slot ${slot}: ${String(id)} is not an id kept apart`);
      if (t.others.has(id)) throw new Error(`a key appears twice (${id})`);
      t.others.set(id, slot);
      t.otherOfSlot.set(slot, id);
    }
    return t;
  }

  get(id: string | number): number | undefined {
    if (!small(id)) return this.others.get(id);
    if (this.direct !== undefined) {
      const s = this.direct[id >>> DIRECT_BITS]?.[id & DIRECT_MASK] ?? 0;
      return s === 0 ? undefined : s - 1;
    }
    const ids = this.idsOf;
    for (let i = hash(id) & this.mask; ; i = (i + 1) & this.mask) {
      const s = this.table[i]!;
      if (s === 0) return undefined;
      if (ids.get(s - 1) === id) return s - 1;
    }
  }

  /** Records a new id's slot (the id must not be present; `slot` must be new). */
  add(id: string | number, slot: number): void {
    this.idsOf.ensure(slot);
    if (!small(id)) {
      this.others.set(id, slot);
      this.otherOfSlot.set(slot, id);
      return;
    }
    if (this.direct !== undefined) {
      const p = id >>> DIRECT_BITS;
      // A new page where the ids would then be sparser than a hash table's entries: hash mode from now on.
      if (this.direct[p] === undefined && (this.directPages + 1) * DIRECT_PAGE > 2 * tableSizeFor(this.smallCount + 1)) this.toHash();
      else {
        this.placeDirect(id, slot);
        return;
      }
    }
    if ((this.smallCount + 1) * 4 > this.table.length * 3) {
      // Growing anyway: the ids may be dense enough by now to be placed directly for less.
      if (this.toDirect(slot, this.table.length * 2)) return this.add(id, slot);
      this.rehash(this.table.length * 2);
    }
    this.insert(id, slot);
  }

  /** How 32-bit ids find their slot now (tests). */
  get mode(): 'direct' | 'hash' {
    return this.direct !== undefined ? 'direct' : 'hash';
  }

  /** The id of a slot that was added. */
  idAt(slot: number): string | number {
    const id = this.idsOf.get(slot);
    return id !== NO_ID ? id : this.otherOfSlot.get(slot)!;
  }

  /** The 32-bit ids of slots [0, n) (a view: NO_ID for the others) and the other ids by slot. */
  exportIds(n: number): { small: Uint32Array[]; others: Array<[number, string | number]> } {
    return { small: this.idsOf.views(n), others: [...this.otherOfSlot] };
  }

  /** Direct mode over slots [0, n), if its pages would take no more than a hash table of `hashSize` entries. */
  private toDirect(n: number, hashSize: number): boolean {
    const ids = this.idsOf;
    const pages = new Set<number>();
    for (let slot = 0; slot < n; slot++) {
      const id = ids.get(slot);
      if (id !== NO_ID) pages.add(id >>> DIRECT_BITS);
      if (pages.size * DIRECT_PAGE > hashSize) return false;
    }
    this.direct = [];
    this.directPages = 0;
    this.smallCount = 0;
    for (let slot = 0; slot < n; slot++) {
      const id = ids.get(slot);
      if (id !== NO_ID && !this.placeDirect(id, slot)) throw new Error(`a key appears twice (${id})`);
    }
    this.table = new Int32Array(0);
    this.mask = -1;
    return true;
  }

  private placeDirect(id: number, slot: number): boolean {
    const direct = this.direct!;
    let page = direct[id >>> DIRECT_BITS];
    if (page === undefined) {
      page = direct[id >>> DIRECT_BITS] = new Int32Array(DIRECT_PAGE);
      this.directPages++;
    }
    if (page[id & DIRECT_MASK] !== 0) return false;
    page[id & DIRECT_MASK] = slot + 1;
    this.idsOf.set(slot, id);
    this.smallCount++;
    return true;
  }

  private toHash(): void {
    const direct = this.direct!;
    this.direct = undefined;
    this.table = new Int32Array(tableSizeFor(this.smallCount + 1));
    this.mask = this.table.length - 1;
    for (const page of direct) {
      if (page === undefined) continue;
      for (let j = 0; j < DIRECT_PAGE; j++) {
        const s = page[j]!;
        if (s === 0) continue;
        let i = hash(this.idsOf.get(s - 1)) & this.mask;
        while (this.table[i] !== 0) i = (i + 1) & this.mask;
        this.table[i] = s;
      }
    }
  }

  private insert(id: number, slot: number): boolean {
    const ids = this.idsOf;
    for (let i = hash(id) & this.mask; ; i = (i + 1) & this.mask) {
      const s = this.table[i]!;
      if (s === 0) {
        this.table[i] = slot + 1;
        ids.set(slot, id);
        this.smallCount++;
        return true;
      }
      if (ids.get(s - 1) === id) return false;
    }
  }

  private rehash(size: number): void {
    const old = this.table;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    const ids = this.idsOf;
    for (let j = 0; j < old.length; j++) {
      const s = old[j]!;
      if (s === 0) continue;
      let i = hash(ids.get(s - 1)) & this.mask;
      while (this.table[i] !== 0) i = (i + 1) & this.mask;
      this.table[i] = s;
    }
  }
}

/** A power of two at least 4/3 of the entries (and at least 1024). */
function tableSizeFor(entries: number): number {
  return Math.max(1024, 2 ** Math.ceil(Math.log2((entries * 4) / 3 + 1)));
}

/** Spreads a 32-bit id over the table (ids are mostly sequential). */
function hash(id: number): number {
  let h = Math.imul(id, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
