import { describe, expect, it } from 'vitest';
import { earliestTime, planKeyHistory, type StoredVersion } from '../../src/sink/history.ts';
import { OPEN_END, type LatestChanges, type SinkTable, type SinkValue } from '../../src/sink/model.ts';
import { reduceBatch, reduceHistory, type DecodedRecord } from '../../src/sink/reduce.ts';

const table: SinkTable = {
  name: 'deal',
  kind: 'latest',
  primaryKey: ['id'],
  columns: [
    { name: 'id', type: 'bigint' },
    { name: 'title', type: 'text' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'due', type: 'date' },
  ],
};
const v = (id: number, title: string, op = 'u') => ({ id, title, update_time: 1_000, due: 2, __op: op, __deleted: op === 'd', __source_ts_ms: 1_000, __synced_ms: 2_000 });

describe('reduceBatch', () => {
  const now = new Date('2026-01-01T00:00:00Z');

  it('keeps the last version per key and converts logical types', () => {
    const [t] = <LatestChanges[]>reduceBatch(
      [
        { table, offset: 1n, key: { id: 1 }, value: v(1, 'a') },
        { table, offset: 2n, key: { id: 1 }, value: v(1, 'b') },
        { table, offset: 3n, key: { id: 2 }, value: v(2, 'c') },
      ],
      now,
    );
    expect(t!.upserts.map((r) => r.title)).toEqual(['b', 'c']);
    expect(t!.upserts[0]).toMatchObject({ update_time: new Date(1_000), due: '1970-01-03', _op: 'u', _deleted: false, _synced: now });
  });

  it('a delete then its tombstone keeps the row, soft-deleted; a lone tombstone marks the stored row', () => {
    const [t] = <LatestChanges[]>reduceBatch(
      [
        { table, offset: 4n, key: { id: 1 }, value: v(1, 'gone', 'd') },
        { table, offset: 5n, key: { id: 1 }, value: null },
        { table, offset: 6n, key: { id: 9 }, value: null },
      ],
      now,
    );
    expect(t!.upserts).toHaveLength(1);
    expect(t!.upserts[0]).toMatchObject({ id: 1, title: 'gone', _deleted: true, _op: 'd' });
    expect(t!.tombstones).toEqual([{ id: 9 }]);
  });

  it('a row re-created after its tombstone is live again', () => {
    const [t] = <LatestChanges[]>reduceBatch(
      [
        { table, offset: 7n, key: { id: 1 }, value: null },
        { table, offset: 8n, key: { id: 1 }, value: v(1, 'back', 'c') },
      ],
      now,
    );
    expect(t!.tombstones).toEqual([]);
    expect(t!.upserts[0]).toMatchObject({ title: 'back', _deleted: false });
  });
});


/**
 * History tables: reduceHistory collapses a batch, planKeyHistory merges it with what is stored. MemoryHistory
 * applies batches the way the SQL destinations do (sql.ts applyHistory: only the stored versions from the last one
 * started before the batch's earliest time on are read), so these cases cover several batches too.
 */
describe('history tables: reduceHistory + planKeyHistory', () => {
  const history: SinkTable = { ...table, name: 'deal_history', kind: 'history' };
  const END = OPEN_END.getTime();
  let offset = 0n;
  const at = (id: number, title: string, ts: number, op = 'u'): DecodedRecord => ({
    table: history,
    offset: offset++,
    key: { id },
    value: { ...v(id, title, op), __source_ts_ms: ts },
  });

  class MemoryHistory {
    readonly rows = new Map<string, Record<string, SinkValue>>();
    apply(records: DecodedRecord[]): void {
      const ch = reduceHistory(records, new Date());
      for (const k of ch.keys) {
        const mine = [...this.rows.values()].filter((r) => r.id === k.key.id);
        const from = earliestTime(k);
        const starts = mine.map((r) => (r._start as Date).getTime());
        const bound = Math.max(...starts.filter((s) => s < from), -Infinity);
        const stored: StoredVersion[] = mine
          .filter((r) => (r._start as Date).getTime() >= (bound === -Infinity ? from : bound))
          .map((r) => ({ start: (r._start as Date).getTime(), end: (r._end as Date).getTime(), active: r._active === true, deleted: r._deleted === true }));
        const plan = planKeyHistory(stored, k);
        for (const u of plan.updates) Object.assign(this.rows.get(`${k.key.id}@${u.start}`)!, { _end: new Date(u.end), _active: u.active, _deleted: u.deleted });
        for (const r of plan.rows) this.rows.set(`${r.id}@${(r._start as Date).getTime()}`, r);
      }
    }
    chain(id: number): Array<[unknown, number, number, boolean, boolean]> {
      return [...this.rows.values()]
        .filter((r) => r.id === id)
        .sort((a, b) => (a._start as Date).getTime() - (b._start as Date).getTime())
        .map((r) => [r.title, (r._start as Date).getTime(), (r._end as Date).getTime(), r._active === true, r._deleted === true]);
    }
  }
  const applied = (...batches: DecodedRecord[][]) => {
    const h = new MemoryHistory();
    for (const b of batches) h.apply(b);
    return h;
  };

  it('chains versions: each ends 1 ms before the next, same-second versions collapse to the last, the last is active', () => {
    expect(applied([at(1, 'a', 1000, 'c'), at(1, 'b', 5000), at(1, 'b2', 5000), at(1, 'c', 9000)]).chain(1)).toEqual([
      ['a', 1000, 4999, false, false],
      ['b2', 5000, 8999, false, false],
      ['c', 9000, END, true, false],
    ]);
  });

  it('a delete ends the version active at its time, in the batch or stored', () => {
    const h = applied([at(1, 'a', 1000), at(1, 'a', 3000, 'd'), at(2, 'x', 1000)], [at(2, 'x', 7000, 'd')]);
    expect(h.chain(1)).toEqual([['a', 1000, 3000, false, true]]);
    expect(h.chain(2)).toEqual([['x', 1000, 7000, false, true]]);
  });

  it('a repeated version in one batch, also after newer ones, is the same version', () => {
    const h = applied([at(104, 'a', 1000), at(104, 'b', 5000), at(104, 'a', 1000), at(104, 'b', 5000), at(104, 'c', 9000), at(104, 'a', 1000)]);
    expect(h.chain(104)).toEqual([
      ['a', 1000, 4999, false, false],
      ['b', 5000, 8999, false, false],
      ['c', 9000, END, true, false],
    ]);
  });

  it('a repeated version in a later batch changes nothing and drops no newer version', () => {
    const h = applied([at(1, 'a', 1000), at(1, 'b', 5000), at(1, 'c', 9000)], [at(1, 'a', 1000)], [at(1, 'b', 5000), at(1, 'a', 1000)]);
    expect(h.chain(1)).toEqual([
      ['a', 1000, 4999, false, false],
      ['b', 5000, 8999, false, false],
      ['c', 9000, END, true, false],
    ]);
    // A repeated delete, and a repeat of the deleted version, keep the key deleted.
    const d = applied([at(2, 'x', 1000), at(2, 'x', 4000, 'd')], [at(2, 'x', 1000)], [at(2, 'x', 4000, 'd')]);
    expect(d.chain(2)).toEqual([['x', 1000, 4000, false, true]]);
  });

  it('a version arriving after newer ones takes its place in the chain', () => {
    expect(applied([at(1, 'a', 1000), at(1, 'c', 9000)], [at(1, 'b', 5000)]).chain(1)).toEqual([
      ['a', 1000, 4999, false, false],
      ['b', 5000, 8999, false, false],
      ['c', 9000, END, true, false],
    ]);
    expect(applied([at(1, 'c', 9000), at(1, 'a', 1000)]).chain(1)).toEqual([
      ['a', 1000, 8999, false, false],
      ['c', 9000, END, true, false],
    ]);
    // Between a version and its delete: the delete now ends the late version.
    expect(applied([at(2, 'a', 1000), at(2, 'a', 9000, 'd')], [at(2, 'b', 5000)]).chain(2)).toEqual([
      ['a', 1000, 4999, false, false],
      ['b', 5000, 9000, false, true],
    ]);
  });

  it('a deleted key that comes back: a new active version after the deleted one, also within the delete’s second', () => {
    expect(applied([at(1, 'a', 1000), at(1, 'a', 5000, 'd')], [at(1, 'back', 8000, 'c')]).chain(1)).toEqual([
      ['a', 1000, 5000, false, true],
      ['back', 8000, END, true, false],
    ]);
    expect(applied([at(2, 'a', 1000), at(2, 'a', 5000, 'd'), at(2, 'back', 5000, 'c')]).chain(2)).toEqual([
      ['a', 1000, 5000, false, true],
      ['back', 5000, END, true, false],
    ]);
    // Stored the same way, a repeat of the delete or of the version changes nothing.
    expect(applied([at(3, 'a', 1000), at(3, 'a', 5000, 'd'), at(3, 'back', 5000, 'c')], [at(3, 'a', 5000, 'd'), at(3, 'back', 5000, 'c')]).chain(3)).toEqual([
      ['a', 1000, 5000, false, true],
      ['back', 5000, END, true, false],
    ]);
  });

  it('any split into batches, with late repeats of any earlier record, ends in the chain of the records seen once', () => {
    // Versions, deletes, a key that comes back later, one that comes back within its delete's second.
    const canonical = (): DecodedRecord[] => [
      at(4, 'd1', 1000, 'r'),
      at(4, 'd1', 5000, 'd'),
      at(4, 'd2', 5000, 'c'),
      at(1, 'a1', 1000, 'r'),
      at(2, 'b1', 1000, 'r'),
      at(1, 'a2', 3000),
      at(3, 'c1', 2000, 'c'),
      at(2, 'b1', 4000, 'd'),
      at(1, 'a3', 6000),
      at(3, 'c2', 7000),
      at(2, 'b2', 9000, 'c'),
      at(1, 'a3', 10000, 'd'),
      at(3, 'c3', 12000),
    ];
    const expected = applied(canonical());
    const rnd = mulberry32(42);
    for (let run = 0; run < 200; run++) {
      const seq = canonical();
      const records = [...seq];
      for (let i = 0; i < 6; i++) {
        const pos = 1 + Math.floor(rnd() * records.length);
        const dup = records[Math.floor(rnd() * pos)]!;
        records.splice(pos, 0, { ...dup, offset: offset++ });
      }
      const batches: DecodedRecord[][] = [];
      for (let i = 0; i < records.length; ) {
        const n = 1 + Math.floor(rnd() * 5);
        batches.push(records.slice(i, i + n));
        i += n;
      }
      const got = applied(...batches);
      for (const id of [1, 2, 3, 4]) expect(got.chain(id), `run ${run}, key ${id}`).toEqual(expected.chain(id));
    }
    expect(expected.chain(2)).toEqual([
      ['b1', 1000, 4000, false, true],
      ['b2', 9000, END, true, false],
    ]);
  });
});

/** A small seeded PRNG, so the shuffles are the same every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('tables from schemas', () => {
  it('a history key holds the version time besides the entity key: the table is keyed by the entity (and _start)', async () => {
    const { tableFromSchemas } = await import('../../src/sink/avro-table.ts');
    const { keySchema, valueSchema } = await import('../../src/publish/avro-schema.ts');
    const { catalog } = await import('../../src/catalog/index.ts');
    const spec = catalog.get('deal_history')!;
    const t = tableFromSchemas('deal_history', keySchema('p', spec), valueSchema('p', spec));
    expect(t.kind).toBe('history');
    expect(t.primaryKey).toEqual(['id']);
    expect(t.columns.map((c) => c.name)).not.toContain('__source_ts_ms');
    // A version keyed by (id, time) reduces to the entity's key; the start comes from the value.
    const r = reduceHistory([{ table: t, offset: 1n, key: { id: 3, __source_ts_ms: 5_000 }, value: { ...Object.fromEntries(t.columns.map((c) => [c.name, null])), id: 3, __op: 'u', __deleted: false, __source_ts_ms: 5_000, __synced_ms: 6_000 } }], new Date(0));
    expect(r.keys.map((k) => [k.key, k.versions.map((x) => x.start)])).toEqual([[{ id: 3 }, [5_000]]]);
  });
});
