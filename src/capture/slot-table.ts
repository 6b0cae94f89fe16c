/**
 * The slot of each key of a KeyIndex. Safe-integer ids (every numeric Pipedrive key) live in typed arrays:
 * the id of each slot in a paged Float64Array (paged.ts), and an open-addressing table (linear probing, at
 * most three quarters full) of slot + 1 in an Int32Array — 8 bytes a slot plus 5–11 a key for the table,
 * no object or string per key, and the garbage collector never walks them. A Map holds the other ids (strings: UUIDs, composite
 * keys as JSON), whose slots keep NaN as their numeric id. Slots are handed out by the caller in order
 * 0, 1, 2… and never freed.
 */
import { Paged } from './paged.ts';

const EMPTY_ID = Number.NaN;
const idPage = (n: number): Float64Array => new Float64Array(n).fill(EMPTY_ID);

export class SlotTable {
  /** The numeric id of each slot (NaN: a string id, or no slot yet). */
  private idsOf: Paged<Float64Array>;
  /** slot + 1 of each numeric id at its probe position; 0 is empty. */
  private table: Int32Array;
  private mask: number;
  private numericCount = 0;
  private readonly strings = new Map<string, number>();
  private readonly stringOfSlot = new Map<number, string>();

  constructor() {
    this.idsOf = new Paged(idPage);
    this.table = new Int32Array(tableSizeFor(0));
    this.mask = this.table.length - 1;
  }

  /**
   * A table over `chunks`, the numeric id of each slot in order (taken as views, not copied: NaN where a
   * slot's id is a string), and the string ids by slot.
   */
  static from(chunks: readonly Float64Array[], strings: Iterable<readonly [number, string]>): SlotTable {
    const t = new SlotTable();
    const ids = (t.idsOf = Paged.of(idPage, chunks));
    const n = chunks.reduce((sum, c) => sum + c.length, 0);
    t.table = new Int32Array(tableSizeFor(n));
    t.mask = t.table.length - 1;
    for (let slot = 0; slot < n; slot++) {
      const id = ids.get(slot);
      if (id !== id) continue; // NaN: a string id
      if (!Number.isSafeInteger(id)) throw new Error(`slot ${slot}: ${id} is not an integer id`);
      if (!t.insert(id, slot)) throw new Error(`a key appears twice (${id})`);
    }
    for (const [slot, id] of strings) {
      if (!(Number.isInteger(slot) && slot >= 0 && slot < n) || ids.get(slot) === ids.get(slot) || t.stringOfSlot.has(slot)) throw new Error(`string id of slot ${slot} is out of place`);
      if (t.strings.has(id)) throw new Error(`a key appears twice (${id})`);
      t.strings.set(id, slot);
      t.stringOfSlot.set(slot, id);
    }
    return t;
  }

  get(id: string | number): number | undefined {
    if (typeof id === 'string') return this.strings.get(id);
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
    if (typeof id === 'string') {
      this.strings.set(id, slot);
      this.stringOfSlot.set(slot, id);
      return;
    }
    if ((this.numericCount + 1) * 4 > this.table.length * 3) this.rehash(this.table.length * 2);
    this.insert(id, slot);
  }

  /** The id of a slot that was added. */
  idAt(slot: number): string | number {
    const id = this.idsOf.get(slot);
    return id === id ? id : this.stringOfSlot.get(slot)!;
  }

  /** The numeric ids of slots [0, n) (a view: NaN for string ids) and the string ids by slot. */
  exportIds(n: number): { numeric: Float64Array[]; strings: Array<[number, string]> } {
    return { numeric: this.idsOf.views(n), strings: [...this.stringOfSlot] };
  }

  private insert(id: number, slot: number): boolean {
    const ids = this.idsOf;
    for (let i = hash(id) & this.mask; ; i = (i + 1) & this.mask) {
      const s = this.table[i]!;
      if (s === 0) {
        this.table[i] = slot + 1;
        ids.set(slot, id);
        this.numericCount++;
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

/** Mixes both 32-bit halves of a safe integer (ids are mostly sequential: spread them over the table). */
function hash(id: number): number {
  const lo = id >>> 0;
  const hi = Math.floor(id / 4294967296) | 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
