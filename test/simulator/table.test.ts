/** The table's indexed scan against a naive reference, over random data, sorts, ranges and page sizes. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/simulator/prng.ts';
import { sortKey, Table, type Position, type Row, type SortDirection, type SortField } from '../../src/simulator/store/table.ts';

type Data = { tag: number };

function reference(rows: readonly Row<Data>[], sortBy: SortField, dir: SortDirection, keep: (r: Row<Data>) => boolean, sinceMs?: number, untilMs?: number): number[] {
  const sorted = rows
    .filter((r) => keep(r) && (sinceMs === undefined || r.updateSec * 1000 >= sinceMs) && (untilMs === undefined || r.updateSec * 1000 < untilMs))
    .sort((a, b) => sortKey(a, sortBy) - sortKey(b, sortBy) || a.id - b.id);
  if (dir === 'desc') sorted.reverse();
  return sorted.map((r) => r.id);
}

describe('Table.scan', () => {
  it('pages through exactly the reference order for random sorts, ranges, filters and limits', () => {
    const rng = new Rng(99);
    const table = new Table<Data>();
    // Few distinct seconds → many ties.
    for (let i = 0; i < 300; i++) table.insert(1000 + rng.int(0, 30), 2000 + rng.int(0, 40), () => ({ tag: rng.int(0, 3) }));
    for (let trial = 0; trial < 300; trial++) {
      const sortBy = rng.pick(['id', 'update_time', 'add_time'] as const);
      const direction = rng.pick(['asc', 'desc'] as const);
      const limit = rng.pick([1, 2, 5, 17, 500]);
      const sinceMs = rng.chance(0.5) ? (2000 + rng.int(-2, 42)) * 1000 + rng.pick([0, 0, 1, 999]) : undefined;
      const untilMs = rng.chance(0.5) ? (2000 + rng.int(-2, 42)) * 1000 + rng.pick([0, 0, 1, 999]) : undefined;
      const tag = rng.int(0, 4); // 4 = no filter
      const filter = (r: Row<Data>): boolean => tag === 4 || r.data.tag === tag;
      const expected = reference(table.all(), sortBy, direction, filter, sinceMs, untilMs);

      const got: number[] = [];
      let from: Position | undefined;
      for (let page = 0; page < 1000; page++) {
        const res = table.scan({ sortBy, direction, limit, from, sinceMs, untilMs, filter });
        expect(res.rows.length).toBeLessThanOrEqual(limit);
        got.push(...res.rows.map((r) => r.id));
        if (!res.next) break;
        from = res.next;
      }
      expect(got, JSON.stringify({ sortBy, direction, limit, sinceMs, untilMs, tag })).toEqual(expected);
    }
  });

  it('purges soft-deleted rows at the cutoff and keeps the others in order', () => {
    const table = new Table<Data>();
    for (let i = 0; i < 5; i++) table.insert(i, i, () => ({ tag: 0 }));
    table.markDeleted(table.get(2)!, { tag: 1 }, 10, 1_000);
    table.markDeleted(table.get(4)!, { tag: 1 }, 11, 5_000);
    expect(table.get(2)!.version).toBe(2);
    expect(table.purgeDeletedBefore(999)).toEqual([]);
    expect(table.purgeDeletedBefore(1_000)).toEqual([2]);
    expect(table.all().map((r) => r.id)).toEqual([1, 3, 4, 5]);
    expect(table.purgeDeletedBefore(5_000)).toEqual([4]);
    const next = table.insert(9, 9, () => ({ tag: 0 }));
    expect(next.id).toBe(6); // ids are never reused
  });
});
