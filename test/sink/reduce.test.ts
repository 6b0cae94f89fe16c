import { describe, expect, it } from 'vitest';
import type { SinkTable } from '../../src/sink/model.ts';
import { reduceBatch } from '../../src/sink/reduce.ts';

const table: SinkTable = {
  name: 'deal',
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
    const [t] = reduceBatch(
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
    const [t] = reduceBatch(
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
    const [t] = reduceBatch(
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
