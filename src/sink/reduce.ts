import { type HistoryChanges, type KeyHistory, type SinkTable, type SinkValue, type TableChanges } from './model.ts';

/** A record after Avro decoding: key fields, and the value (null for a tombstone). */
export interface DecodedRecord {
  readonly table: SinkTable;
  /** The record's Kafka offset (orders versions of the same second). */
  readonly offset: bigint;
  readonly key: Readonly<Record<string, unknown>>;
  readonly value: Readonly<Record<string, unknown>> | null;
  /**
   * The value already as the table's SQL row (src/sink/avro-rows.ts; `_synced`, `_resync` still null): then
   * `value` need hold only `__op`, `__deleted` and `__source_ts_ms`. The reducers fill in and keep this object.
   */
  readonly row?: Record<string, SinkValue>;
  /** The re-sync generation the record was written by (its header; null or absent: none). */
  readonly resync?: number | null;
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
    const conv = converterOf(rec.table);
    const keyRow = conv.keyRow(rec.key);
    const id = conv.keyId(keyRow);
    if (rec.value === null) {
      const row = t.rows.get(id);
      if (row) row._deleted = true;
      else if (!t.keyOnly.has(id)) t.tombstones.set(id, keyRow);
      continue;
    }
    if (isKeyOnlyDelete(rec.table, rec.value.__op, rec.row ?? rec.value)) {
      // A delete found by absence knows no values: keep the last known ones (in this batch, or stored).
      const meta = { _op: 'd', _deleted: true, _source_ts: typeof rec.value.__source_ts_ms === 'number' ? new Date(rec.value.__source_ts_ms) : null, _synced: syncedAt };
      const row = t.rows.get(id);
      if (row) Object.assign(row, meta);
      else t.keyOnly.set(id, { ...keyRow, ...meta });
      continue;
    }
    t.tombstones.delete(id);
    t.keyOnly.delete(id);
    const row = rowOf(rec, conv, syncedAt);
    row._resync = rec.resync ?? null;
    t.rows.set(id, row);
  }
  return [...byTable.values()].map((t) => ({ kind: 'latest' as const, table: t.table, upserts: [...t.rows.values()], tombstones: [...t.tombstones.values()], keyOnlyDeletes: [...t.keyOnly.values()] }));
}

/** A delete record whose columns beyond the key are all null: found by absence, its values unknown. */
function isKeyOnlyDelete(table: SinkTable, op: unknown, values: Readonly<Record<string, unknown>>): boolean {
  return op === 'd' && table.columns.every((c) => table.primaryKey.includes(c.name) || values[c.name] === null || values[c.name] === undefined);
}

/**
 * Versions of one history table (in offset order) → per key, one version per start time (the content of
 * the last record by offset, placed where the start first appeared) and one delete per time. Repeats and
 * out-of-order records are resolved here and against the stored versions by src/sink/history.ts.
 */
export function reduceHistory(records: readonly DecodedRecord[], syncedAt: Date): HistoryChanges {
  const table = records.reduce((widest, r) => (r.table.columns.length > widest.columns.length ? r.table : widest), records[0]!.table);
  const conv = converterOf(table);
  type Version = { start: number; seq: bigint; row: Record<string, SinkValue> };
  type Delete = { at: number; seq: bigint };
  // Arrays, not a Map per key: a key has one or a few facts a batch (a Map indexes the versions of a key with many).
  type Entry = { key: Record<string, SinkValue>; versions: Version[]; deletes: Delete[]; byStart?: Map<number, Version> };
  const byKey = new Map<string, Entry>();
  const versionAt = (e: Entry, at: number): Version | undefined => {
    if (e.byStart) return e.byStart.get(at);
    for (const v of e.versions) if (v.start === at) return v;
    return undefined;
  };
  for (const rec of records) {
    if (rec.value === null) continue; // history topics carry no tombstones; ignore any
    const at = rec.value.__source_ts_ms;
    if (typeof at !== 'number') throw new Error(`${table.name}: a history record without __source_ts_ms (offset ${rec.offset})`);
    const key = conv.keyRow(rec.key);
    const id = conv.keyId(key);
    let entry = byKey.get(id);
    if (!entry) byKey.set(id, (entry = { key, versions: [], deletes: [] }));
    if (rec.value.__op === 'd') {
      if (!entry.deletes.some((d) => d.at === at)) entry.deletes.push({ at, seq: rec.offset });
      continue;
    }
    const row = rowOf(rec, conv, syncedAt);
    const have = versionAt(entry, at);
    // A repeated start keeps its first place and takes the last content.
    if (have) have.row = row;
    else {
      const v = { start: at, seq: rec.offset, row };
      entry.versions.push(v);
      if (entry.byStart) entry.byStart.set(at, v);
      else if (entry.versions.length > 16) entry.byStart = new Map(entry.versions.map((x) => [x.start, x]));
    }
  }
  const keys: KeyHistory[] = [];
  for (const e of byKey.values()) {
    if (e.versions.length > 1) e.versions.sort((x, y) => x.start - y.start);
    if (e.deletes.length > 1) e.deletes.sort((x, y) => x.at - y.at);
    keys.push({ key: e.key, versions: e.versions, deletes: e.deletes });
  }
  return { kind: 'history', table, keys };
}

/** The record's row: the decoder's (completed here) or converted from the Avro value. */
function rowOf(rec: DecodedRecord, conv: Converter, syncedAt: Date): Record<string, SinkValue> {
  if (!rec.row) return conv.row(rec.value!, syncedAt);
  rec.row._synced = syncedAt;
  return rec.row;
}

/** Avro values → SQL values for one table, the column types looked up once (not per value). */
interface Converter {
  /** The key columns of a record key. */
  keyRow(key: Readonly<Record<string, unknown>>): Record<string, SinkValue>;
  /** A string identifying a key row (equal keys, equal strings). */
  keyId(keyRow: Readonly<Record<string, SinkValue>>): string;
  /** Business and meta columns of a value. */
  row(value: Readonly<Record<string, unknown>>, syncedAt: Date): Record<string, SinkValue>;
}

const converters = new WeakMap<SinkTable, Converter>();

function converterOf(table: SinkTable): Converter {
  let c = converters.get(table);
  if (c) return c;
  const typeOf = new Map(table.columns.map((col) => [col.name, col.type]));
  const convert = (type: string | undefined): ((v: unknown) => SinkValue) => {
    switch (type) {
      case 'timestamp':
        return (v) => (v === null || v === undefined ? null : new Date(Number(v)));
      case 'date':
        return (v) => (v === null || v === undefined ? null : new Date(Number(v) * DAY_MS).toISOString().slice(0, 10));
      default:
        return (v) => (v === null || v === undefined ? null : (v as SinkValue));
    }
  };
  const cols = table.columns.map((col) => ({ name: col.name, to: convert(col.type) }));
  const keys = table.primaryKey.map((name) => ({ name, to: convert(typeOf.get(name)) }));
  const single = keys.length === 1 ? keys[0]!.name : undefined;
  c = {
    keyRow(key) {
      const out: Record<string, SinkValue> = {};
      for (const k of keys) out[k.name] = k.to(key[k.name]);
      return out;
    },
    keyId: single !== undefined ? (keyRow) => JSON.stringify(keyRow[single] ?? null) : (keyRow) => JSON.stringify(keys.map((k) => keyRow[k.name])),
    row(value, syncedAt) {
      const row: Record<string, SinkValue> = {};
      for (const col of cols) row[col.name] = col.to(value[col.name]);
      row._op = String(value.__op);
      row._deleted = value.__deleted === true;
      row._source_ts = typeof value.__source_ts_ms === 'number' ? new Date(value.__source_ts_ms) : null;
      row._synced = syncedAt;
      return row;
    },
  };
  converters.set(table, c);
  return c;
}
