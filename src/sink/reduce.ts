import type { SinkTable, SinkValue, TableChanges } from './model.ts';

/** A record after Avro decoding: key fields, and the value (null for a tombstone). */
export interface DecodedRecord {
  readonly table: SinkTable;
  readonly key: Readonly<Record<string, unknown>>;
  readonly value: Readonly<Record<string, unknown>> | null;
}

const DAY_MS = 86_400_000;

/**
 * Reduces a batch (in offset order) to the last state per key, so the destination writes each row once.
 * A tombstone after a delete keeps the deleted row (soft delete); a lone tombstone marks the stored row.
 */
export function reduceBatch(records: readonly DecodedRecord[], syncedAt: Date): TableChanges[] {
  const byTable = new Map<string, { table: SinkTable; rows: Map<string, Record<string, SinkValue>>; tombstones: Map<string, Record<string, SinkValue>> }>();
  for (const rec of records) {
    let t = byTable.get(rec.table.name);
    if (!t) byTable.set(rec.table.name, (t = { table: rec.table, rows: new Map(), tombstones: new Map() }));
    const keyRow = Object.fromEntries(rec.table.primaryKey.map((k) => [k, toSql(rec.table, k, rec.key[k])]));
    const id = JSON.stringify(rec.table.primaryKey.map((k) => keyRow[k]));
    if (rec.value === null) {
      const row = t.rows.get(id);
      if (row) row._deleted = true;
      else t.tombstones.set(id, keyRow);
      continue;
    }
    t.tombstones.delete(id);
    t.rows.set(id, toSinkRow(rec.table, rec.value, syncedAt));
  }
  return [...byTable.values()].map((t) => ({ table: t.table, upserts: [...t.rows.values()], tombstones: [...t.tombstones.values()] }));
}

function toSinkRow(table: SinkTable, value: Readonly<Record<string, unknown>>, syncedAt: Date): Record<string, SinkValue> {
  const row: Record<string, SinkValue> = {};
  for (const col of table.columns) row[col.name] = toSql(table, col.name, value[col.name]);
  row._op = String(value.__op);
  row._deleted = value.__deleted === true;
  row._source_ts = typeof value.__source_ts_ms === 'number' ? new Date(value.__source_ts_ms) : null;
  row._synced = syncedAt;
  return row;
}

function toSql(table: SinkTable, column: string, v: unknown): SinkValue {
  if (v === null || v === undefined) return null;
  const col = table.columns.find((c) => c.name === column);
  switch (col?.type) {
    case 'timestamp':
      return new Date(Number(v));
    case 'date':
      return new Date(Number(v) * DAY_MS).toISOString().slice(0, 10);
    default:
      return v as SinkValue;
  }
}
