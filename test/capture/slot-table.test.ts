import { describe, expect, it } from 'vitest';
import { KeyIndex, keyString } from '../../src/capture/key-index.ts';
import { NO_ID, SlotTable } from '../../src/capture/slot-table.ts';
import { tableByName } from '../../src/catalog/index.ts';
import type { Row } from '../../src/pipedrive/row.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('SlotTable (32-bit integer ids in typed arrays, others in a map)', () => {
  it('answers like a Map over 300,000 ids: sequential, sparse, huge, negative, and strings', () => {
    const table = new SlotTable();
    const oracle = new Map<string | number, number>();
    const r = rng(7);
    let slot = 0;
    const add = (id: string | number) => {
      if (oracle.has(id)) return;
      table.add(id, slot);
      oracle.set(id, slot++);
    };
    for (let i = 1; i <= 150_000; i++) add(i);
    for (let i = 0; i < 100_000; i++) add(Math.floor(r() * Number.MAX_SAFE_INTEGER) * (r() < 0.1 ? -1 : 1));
    for (let i = 0; i < 20_000; i++) add(2 ** 32 * (1 + (i % 50)) + i); // ids that differ only in the high half
    for (let i = 0; i < 30_000; i++) add(`uuid-${Math.floor(r() * 1e6)}`);
    for (const id of [Number.MAX_SAFE_INTEGER, 0, NO_ID - 1, NO_ID, NO_ID + 1, -1]) add(id); // the edges of 32 bits
    // Plain comparisons (an expect per key would take seconds); the mismatches are listed.
    const wrong = (t: SlotTable) => [...oracle].filter(([id, s]) => t.get(id) !== s || t.idAt(s) !== id).slice(0, 5);
    expect(wrong(table)).toEqual([]);
    for (const absent of [150_001, -1, 2 ** 40 + 7, 'uuid-x', '1', 0.5]) if (!oracle.has(absent)) expect(table.get(absent)).toBeUndefined();
    // Rebuilt from its exported ids, it answers the same.
    const { small, others } = table.exportIds(slot);
    const copy = SlotTable.from(small.map((c) => Uint32Array.from(c)), others);
    expect(wrong(copy)).toEqual([]);
    expect(copy.get(150_001)).toBeUndefined();
  });

  it('dense ids in any order are placed directly (also when read back); ids that turn sparse go to the hash table, answering the same', () => {
    const r = rng(3);
    const ids = Array.from({ length: 200_000 }, (_, i) => i + 1);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    const table = new SlotTable();
    const oracle = new Map<string | number, number>();
    const add = (id: string | number) => {
      table.add(id, oracle.size);
      oracle.set(id, oracle.size);
    };
    const wrong = (t: SlotTable) => [...oracle].filter(([id, s]) => t.get(id) !== s || t.idAt(s) !== id).slice(0, 5);
    for (const id of ids.slice(0, 100)) add(id);
    expect(table.mode).toBe('hash'); // 100 ids over 200,000: sparse so far
    for (const id of ids.slice(100)) add(id);
    add('uuid-1');
    expect(table.mode).toBe('direct');
    expect(wrong(table)).toEqual([]);
    for (const absent of [0, 200_001, 204_800, 2 ** 31, NO_ID - 1]) expect(table.get(absent)).toBeUndefined();
    const { small, others } = table.exportIds(oracle.size);
    const copy = SlotTable.from(small, others);
    expect(copy.mode).toBe('direct');
    expect(wrong(copy)).toEqual([]);
    expect(() => SlotTable.from([Uint32Array.from([...small[0]!.subarray(0, 10), small[0]![3]!])], [])).toThrow(/appears twice/);
    // Ids far apart from then on: each would need a page of its own, so the table turns to hashing.
    for (let i = 1; i <= 500; i++) add(1_000_000 + i * 100_000);
    expect(table.mode).toBe('hash');
    expect(wrong(table)).toEqual([]);
    expect(table.get(200_001)).toBeUndefined();
  });

  it('refuses exported ids that repeat a key, place another id on a 32-bit slot, or keep a 32-bit id apart', () => {
    expect(() => SlotTable.from([Uint32Array.from([1, 2, 1])], [])).toThrow(/appears twice/);
    expect(() => SlotTable.from([Uint32Array.from([1, NO_ID])], [[0, 'a']])).toThrow(/out of place/);
    expect(() => SlotTable.from([Uint32Array.from([NO_ID, NO_ID])], [[0, 'a'], [1, 'a']])).toThrow(/appears twice/);
    expect(() => SlotTable.from([Uint32Array.from([NO_ID, NO_ID])], [[0, 2 ** 40], [1, 2 ** 40]])).toThrow(/appears twice/);
    expect(() => SlotTable.from([Uint32Array.from([NO_ID])], [[0, 12]])).toThrow(/not an id kept apart/);
    expect(() => SlotTable.from([Uint32Array.from([NO_ID])], [[0, 1.5]])).toThrow(/not an id kept apart/);
  });
});

describe('KeyIndex.sweep (the keys a whole-table pass did not see)', () => {
  const spec = tableByName('deal');
  const apply = (index: KeyIndex, id: number | string, op: 'c' | 'd') => index.apply({ key: { id }, row: { id }, op });

  it('against a set of strings: many keys, removals before and during the pass, string ids among integers', () => {
    const index = new KeyIndex(spec);
    const live = new Set<string>();
    const r = rng(11);
    for (let i = 0; i < 50_000; i++) {
      const id: number | string = r() < 0.05 ? `x${Math.floor(r() * 500)}` : 1 + Math.floor(r() * 80_000);
      const op = r() < 0.2 ? 'd' : 'c';
      apply(index, id, op);
      const k = keyString(spec, { id } as Row);
      if (op === 'd') live.delete(k);
      else live.add(k);
    }
    const atStart = new Set(live);
    const sweep = index.sweep();
    expect(sweep.liveAtStart).toBe(atStart.size);
    const seen = new Set<string>();
    for (const k of [...atStart, 'x-never', '999999']) if (r() < 0.7) {
      sweep.see(k);
      seen.add(k);
    }
    // During the pass: some keys deleted, a dead one revived, new ones created (published by the pass).
    const deletedDuring = [...atStart].filter(() => r() < 0.01);
    for (const k of deletedDuring) apply(index, Number(k) || k, 'd');
    apply(index, 123_456_789, 'c');
    const expectStart = [...atStart].filter((k) => !seen.has(k)).sort();
    const expectNow = [...atStart].filter((k) => !seen.has(k) && !deletedDuring.includes(k)).sort();
    const keysOf = (rows: Row[]) => rows.map((row) => keyString(spec, row)).sort();
    expect(keysOf(sweep.unseen('start'))).toEqual(expectStart);
    expect(keysOf(sweep.unseen('now'))).toEqual(expectNow);
    expect(expectStart.length).toBeGreaterThan(1000);
  });

  it('a key dead at the start and revived during the pass is a delete by the "now" rule only', () => {
    const index = new KeyIndex(spec);
    apply(index, 1, 'c');
    apply(index, 2, 'c');
    apply(index, 2, 'd');
    const sweep = index.sweep();
    apply(index, 2, 'c');
    expect(sweep.unseen('start')).toEqual([{ id: 1 }]);
    expect(sweep.unseen('now')).toEqual([{ id: 1 }, { id: 2 }]);
  });
});
