import { describe, expect, it } from 'vitest';
import { OPEN_END, type LatestChanges, type SinkTable } from '../../src/sink/model.ts';
import { reduceBatch } from '../../src/sink/reduce.ts';

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
        { table, key: { id: 1 }, value: v(1, 'a') },
        { table, key: { id: 1 }, value: v(1, 'b') },
        { table, key: { id: 2 }, value: v(2, 'c') },
      ],
      now,
    );
    expect(t!.upserts.map((r) => r.title)).toEqual(['b', 'c']);
    expect(t!.upserts[0]).toMatchObject({ update_time: new Date(1_000), due: '1970-01-03', _op: 'u', _deleted: false, _synced: now });
  });

  it('a delete then its tombstone keeps the row, soft-deleted; a lone tombstone marks the stored row', () => {
    const [t] = <LatestChanges[]>reduceBatch(
      [
        { table, key: { id: 1 }, value: v(1, 'gone', 'd') },
        { table, key: { id: 1 }, value: null },
        { table, key: { id: 9 }, value: null },
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
        { table, key: { id: 1 }, value: null },
        { table, key: { id: 1 }, value: v(1, 'back', 'c') },
      ],
      now,
    );
    expect(t!.tombstones).toEqual([]);
    expect(t!.upserts[0]).toMatchObject({ title: 'back', _deleted: false });
  });
});

describe('reduceBatch for history tables', () => {
  const history: SinkTable = { ...table, name: 'deal_history', kind: 'history' };
  const at = (id: number, title: string, ts: number, op = 'u') => ({
    table: history,
    key: { id },
    value: { ...v(id, title, op), __source_ts_ms: ts },
  });

  it('chains versions: each ends 1 ms before the next, same-second versions collapse, the last is active', () => {
    const [h] = reduceBatch([at(1, 'a', 1000, 'c'), at(1, 'b', 5000), at(1, 'b2', 5000), at(1, 'c', 9000)], new Date());
    if (h!.kind !== 'history') throw new Error('expected history');
    expect(h!.rows.map((r) => [r.title, (r._start as Date).getTime(), (r._end as Date).getTime(), r._active])).toEqual([
      ['a', 1000, 4999, false],
      ['b2', 5000, 8999, false],
      ['c', 9000, OPEN_END.getTime(), true],
    ]);
    expect(h!.replaceFrom).toEqual([{ key: { id: 1 }, start: new Date(1000) }]);
    expect(h!.closeStored).toEqual([{ key: { id: 1 }, before: new Date(1000), end: new Date(999), deleted: false }]);
  });

  it('a delete ends the last version at the delete time; a delete alone closes the stored version', () => {
    const [h] = reduceBatch([at(1, 'a', 1000), at(1, 'a', 3000, 'd'), at(2, 'x', 7000, 'd')], new Date());
    if (h!.kind !== 'history') throw new Error('expected history');
    expect(h!.rows.map((r) => [r.id, (r._end as Date).getTime(), r._active, r._deleted])).toEqual([[1, 3000, false, true]]);
    expect(h!.closeStored).toContainEqual({ key: { id: 2 }, before: new Date(7001), end: new Date(7000), deleted: true });
  });
});
