import { describe, expect, it } from 'vitest';
import { casOrder, mergeChanges } from '../../src/sink/destinations/sql.ts';
import type { ApplyItem, HistoryChanges, LatestChanges, SinkTable } from '../../src/sink/model.ts';

/** How the batches of several partitions share one transaction: one write per table, keys never mixed up. */
const deal: SinkTable = { name: 'deal', kind: 'latest', primaryKey: ['id'], columns: [{ name: 'id', type: 'bigint' }, { name: 'title', type: 'text' }] };
const wider: SinkTable = { ...deal, columns: [...deal.columns, { name: 'value', type: 'double' }] };
const history: SinkTable = { ...deal, name: 'deal_history', kind: 'history' };
const latest = (table: SinkTable, ids: number[], tombstones: number[] = []): LatestChanges => ({
  kind: 'latest',
  table,
  upserts: ids.map((id) => ({ id, title: `t${id}` })),
  tombstones: tombstones.map((id) => ({ id })),
  keyOnlyDeletes: [],
});
const versions = (ids: number[]): HistoryChanges => ({ kind: 'history', table: history, keys: ids.map((id) => ({ key: { id }, versions: [{ start: 1, seq: 1n, row: { id } }], deletes: [] })) });

describe('mergeChanges', () => {
  it('merges the changes of one table from batches with disjoint keys, keeping the widest table', () => {
    const merged = mergeChanges([[latest(deal, [1, 2]), versions([1])], [latest(wider, [3], [4])], [versions([2])]]);
    expect(merged).toHaveLength(2);
    const [d, h] = merged as [LatestChanges, HistoryChanges];
    expect(d.table).toBe(wider);
    expect(d.upserts.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(d.tombstones).toEqual([{ id: 4 }]);
    expect(h.keys.map((k) => k.key.id)).toEqual([1, 2]);
  });

  it('keeps batches that touch a key in common apart, in their order', () => {
    const merged = mergeChanges([[latest(deal, [1, 2])], [latest(deal, [3])], [latest(deal, [], [2])], [latest(deal, [5])]]) as LatestChanges[];
    expect(merged.map((m) => [m.upserts.map((r) => r.id), m.tombstones.map((r) => r.id)])).toEqual([
      [[1, 2, 3], []],
      [[5], [2]],
    ]);
  });

  it('orders the compare-and-sets by topic and partition', () => {
    const item = (topic: string, partition: number): ApplyItem => ({ changes: [], offset: { topic, partition, expected: null, next: 1n } });
    expect(casOrder([item('p.deal', 2), item('p.activity', 1), item('p.deal', 0)])).toEqual([1, 2, 0]);
  });
});
