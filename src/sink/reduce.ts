import { type HistoryChanges, type SinkTable, type SinkValue, type TableChanges } from './model.ts';

/** A record after Avro decoding: key fields, and the value (null for a tombstone). */
export interface DecodedRecord {
  readonly table: SinkTable;
  /** The record's Kafka offset (orders versions of the same second). */
  readonly offset: bigint;
  readonly key: Readonly<Record<string, unknown>>;
  readonly value: Readonly<Record<string, unknown>> | null;
}

const DAY_MS = 86_400_000;

/**
 * Reduces a batch (in offset order) to the last state per key, so the destination writes each row once.
 * A tombstone after a delete keeps the deleted row (soft delete); a lone tombstone marks the stored row.
 */
export function reduceBatch(records: readonly DecodedRecord[], syncedAt: Date): TableChanges[] {
  const history = new Map<string, DecodedRecord[]>();
  const latest: DecodedRecord[] = [];
  for (const rec of records) {
    if (rec.table.kind !== 'history') latest.push(rec);
    else if (history.has(rec.table.name)) history.get(rec.table.name)!.push(rec);
    else history.set(rec.table.name, [rec]);
  }
  return [...reduceLatest(latest, syncedAt), ...[...history.values()].map((recs) => reduceHistory(recs, syncedAt))];
}

function reduceLatest(records: readonly DecodedRecord[], syncedAt: Date): TableChanges[] {
  type Changes = { table: SinkTable; rows: Map<string, Record<string, SinkValue>>; tombstones: Map<string, Record<string, SinkValue>>; keyOnly: Map<string, Record<string, SinkValue>> };
  const byTable = new Map<string, Changes>();
  for (const rec of records) {
    let t = byTable.get(rec.table.name);
    if (!t) byTable.set(rec.table.name, (t = { table: rec.table, rows: new Map(), tombstones: new Map(), keyOnly: new Map() }));
    // Schemas only gain columns: the newest record's table is the widest, and older rows fill it with nulls.
    if (rec.table.columns.length > t.table.columns.length) t.table = rec.table;
    const keyRow = Object.fromEntries(rec.table.primaryKey.map((k) => [k, toSql(rec.table, k, rec.key[k])]));
    const id = JSON.stringify(rec.table.primaryKey.map((k) => keyRow[k]));
    if (rec.value === null) {
      const row = t.rows.get(id);
      if (row) row._deleted = true;
      else if (!t.keyOnly.has(id)) t.tombstones.set(id, keyRow);
      continue;
    }
    if (isKeyOnlyDelete(rec.table, rec.value)) {
      // A delete found by absence knows no values: keep the last known ones (in this batch, or stored).
      const meta = { _op: 'd', _deleted: true, _source_ts: typeof rec.value.__source_ts_ms === 'number' ? new Date(rec.value.__source_ts_ms) : null, _synced: syncedAt };
      const row = t.rows.get(id);
      if (row) Object.assign(row, meta);
      else t.keyOnly.set(id, { ...keyRow, ...meta });
      continue;
    }
    t.tombstones.delete(id);
    t.keyOnly.delete(id);
    t.rows.set(id, toSinkRow(rec.table, rec.value, syncedAt));
  }
  return [...byTable.values()].map((t) => ({ kind: 'latest' as const, table: t.table, upserts: [...t.rows.values()], tombstones: [...t.tombstones.values()], keyOnlyDeletes: [...t.keyOnly.values()] }));
}

/** A delete record whose columns beyond the key are all null: found by absence, its values unknown. */
function isKeyOnlyDelete(table: SinkTable, value: Readonly<Record<string, unknown>>): boolean {
  return value.__op === 'd' && table.columns.every((c) => table.primaryKey.includes(c.name) || value[c.name] === null || value[c.name] === undefined);
}

/**
 * Versions of one history table (in offset order) → per key, one version per start time (the content of
 * the last record by offset, placed where the start first appeared) and one delete per time. Repeats and
 * out-of-order records are resolved here and against the stored versions by src/sink/history.ts.
 */
export function reduceHistory(records: readonly DecodedRecord[], syncedAt: Date): HistoryChanges {
  const table = records.reduce((widest, r) => (r.table.columns.length > widest.columns.length ? r.table : widest), records[0]!.table);
  type Entry = { key: Record<string, SinkValue>; versions: Map<number, { start: number; seq: bigint; row: Record<string, SinkValue> }>; deletes: Map<number, bigint> };
  const byKey = new Map<string, Entry>();
  for (const rec of records) {
    if (rec.value === null) continue; // history topics carry no tombstones; ignore any
    const at = rec.value.__source_ts_ms;
    if (typeof at !== 'number') throw new Error(`${table.name}: a history record without __source_ts_ms (offset ${rec.offset})`);
    const key = Object.fromEntries(table.primaryKey.map((k) => [k, toSql(table, k, rec.key[k])]));
    const id = JSON.stringify(table.primaryKey.map((k) => key[k]));
    let entry = byKey.get(id);
    if (!entry) byKey.set(id, (entry = { key, versions: new Map(), deletes: new Map() }));
    if (rec.value.__op === 'd') {
      if (!entry.deletes.has(at)) entry.deletes.set(at, rec.offset);
      continue;
    }
    const seq = entry.versions.get(at)?.seq ?? rec.offset;
    entry.versions.set(at, { start: at, seq, row: toSinkRow(table, rec.value, syncedAt) });
  }
  return {
    kind: 'history',
    table,
    keys: [...byKey.values()].map((e) => ({
      key: e.key,
      versions: [...e.versions.values()].sort((x, y) => x.start - y.start),
      deletes: [...e.deletes].map(([at, seq]) => ({ at, seq })).sort((x, y) => x.at - y.at),
    })),
  };
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
