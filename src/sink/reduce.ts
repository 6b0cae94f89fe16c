import { OPEN_END, type HistoryChanges, type SinkTable, type SinkValue, type TableChanges } from './model.ts';

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
  const history = new Map<string, DecodedRecord[]>();
  const latest: DecodedRecord[] = [];
  for (const rec of records) {
    if (rec.table.kind === 'history') history.set(rec.table.name, [...(history.get(rec.table.name) ?? []), rec]);
    else latest.push(rec);
  }
  return [...reduceLatest(latest, syncedAt), ...[...history.values()].map((recs) => reduceHistory(recs, syncedAt))];
}

function reduceLatest(records: readonly DecodedRecord[], syncedAt: Date): TableChanges[] {
  const byTable = new Map<string, { table: SinkTable; rows: Map<string, Record<string, SinkValue>>; tombstones: Map<string, Record<string, SinkValue>> }>();
  for (const rec of records) {
    let t = byTable.get(rec.table.name);
    if (!t) byTable.set(rec.table.name, (t = { table: rec.table, rows: new Map(), tombstones: new Map() }));
    // Schemas only gain columns: the newest record's table is the widest, and older rows fill it with nulls.
    if (rec.table.columns.length > t.table.columns.length) t.table = rec.table;
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
  return [...byTable.values()].map((t) => ({ kind: 'latest' as const, table: t.table, upserts: [...t.rows.values()], tombstones: [...t.tombstones.values()] }));
}

/**
 * Versions of one history table (in offset order) → type-2 rows. Per key: versions starting in the same
 * second collapse to the last; each version ends 1 ms before the next starts; a delete ends the version
 * before it at the delete time (and marks it deleted); the last live version is active, ending at OPEN_END.
 */
export function reduceHistory(records: readonly DecodedRecord[], syncedAt: Date): HistoryChanges {
  const table = records.reduce((widest, r) => (r.table.columns.length > widest.columns.length ? r.table : widest), records[0]!.table);
  const byKey = new Map<string, { key: Record<string, SinkValue>; events: Array<{ start: number; deleted: boolean; value: Readonly<Record<string, unknown>> }> }>();
  for (const rec of records) {
    if (rec.value === null) continue; // history topics carry no tombstones; ignore any
    const key = Object.fromEntries(table.primaryKey.map((k) => [k, toSql(table, k, rec.key[k])]));
    const id = JSON.stringify(table.primaryKey.map((k) => key[k]));
    let entry = byKey.get(id);
    if (!entry) byKey.set(id, (entry = { key, events: [] }));
    entry.events.push({ start: Number(rec.value.__source_ts_ms), deleted: rec.value.__op === 'd', value: rec.value });
  }
  const out: { replaceFrom: HistoryChanges['replaceFrom'][number][]; closeStored: HistoryChanges['closeStored'][number][]; rows: Record<string, SinkValue>[] } = { replaceFrom: [], closeStored: [], rows: [] };
  for (const { key, events } of byKey.values()) {
    const rows: Record<string, SinkValue>[] = [];
    const first = events[0]!;
    if (first.deleted) out.closeStored.push({ key, before: new Date(first.start + 1), end: new Date(first.start), deleted: true });
    else {
      out.replaceFrom.push({ key, start: new Date(first.start) });
      out.closeStored.push({ key, before: new Date(first.start), end: new Date(first.start - 1), deleted: false });
    }
    for (const ev of events) {
      const prev = rows.at(-1);
      if (ev.deleted) {
        if (prev && prev._active) Object.assign(prev, { _end: new Date(ev.start), _active: false, _deleted: true });
        continue;
      }
      if (prev && (prev._start as Date).getTime() === ev.start) rows.pop(); // same second: the last version wins
      const last = rows.at(-1);
      // The version before ends 1 ms before this one starts — also one a delete had closed, if the key came back.
      if (last && (last._active || (last._end as Date).getTime() >= ev.start)) Object.assign(last, { _end: new Date(ev.start - 1), _active: false });
      rows.push({ ...toSinkRow(table, ev.value, syncedAt), _start: new Date(ev.start), _end: OPEN_END, _active: true });
    }
    out.rows.push(...rows);
  }
  return { kind: 'history', table, ...out };
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
