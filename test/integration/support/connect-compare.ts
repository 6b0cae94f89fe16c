// Table-by-table comparison of what Kafka Connect's Debezium JDBC sink wrote with what the project's own
// PostgreSQL sink wrote from the same topics (test/integration/kafka-connect.test.ts). Only the convention
// differences docs/CONNECT.md lists ("Differences from the project's sink") are normalised; anything else
// that differs fails the comparison.
import type pg from 'pg';
import { expect } from 'vitest';

type Row = Record<string, unknown>;

export interface ReadTable {
  /** Column → PostgreSQL data_type (information_schema). */
  readonly types: ReadonlyMap<string, string>;
  readonly rows: Row[];
}

const TIME = new Set(['timestamp with time zone', 'timestamp without time zone']);
const NUMBER = new Set(['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision']);
const JSON_TYPES = new Set(['json', 'jsonb']);

/**
 * Every row of `schema.table`, values in one representation whatever the column's type: instants as epoch
 * milliseconds (a `timestamp` column read as UTC, which is what the JDBC sink writes), numbers as float8,
 * dates as text, json as parsed values.
 */
export async function readTable(db: pg.Client, schema: string, table: string): Promise<ReadTable> {
  const cols = await db.query<{ column_name: string; data_type: string }>('SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [schema, table]);
  if (cols.rows.length === 0) throw new Error(`${schema}.${table}: no such table`);
  const types = new Map(cols.rows.map((c) => [c.column_name, c.data_type]));
  const select = [...types].map(([c, t]) => {
    const q = `"${c}"`;
    if (TIME.has(t)) return `(extract(epoch from ${q}) * 1000)::float8 AS ${q}`;
    if (NUMBER.has(t)) return `${q}::float8 AS ${q}`;
    if (t === 'date') return `${q}::text AS ${q}`;
    if (JSON_TYPES.has(t)) return `${q}::jsonb AS ${q}`;
    return q;
  });
  const { rows } = await db.query(`SELECT ${select.join(', ')} FROM "${schema}"."${table}"`);
  return { types, rows };
}

/**
 * Column types that differ by convention (docs/CONNECT.md): the project's sink writes instants as
 * `timestamptz`, the JDBC sink as `timestamp` (UTC wall time); JSON columns (`io.debezium.data.Json`) are
 * `text` there and `json` in the JDBC sink.
 */
const TYPE_DIFFERENCES = new Set(['timestamp with time zone -> timestamp without time zone', 'text -> json']);

/** The project sink's bookkeeping columns and the record fields they come from (docs/ARCHITECTURE.md, record contract). */
const OWN_META = { _op: '__op', _deleted: '__deleted', _source_ts: '__source_ts_ms', _synced: '__synced_ms' } as const;
const HISTORY_META = ['_start', '_end', '_active'];
/** The project sink's own bookkeeping with no record field behind it: `_resync`, the re-sync generation of a row's last write. */
const SINK_ONLY = ['_resync'];

/** Business columns of the project sink's table: what both sinks must have alike. */
function businessColumns(own: ReadTable): string[] {
  return [...own.types.keys()].filter((c) => !(c in OWN_META) && !HISTORY_META.includes(c) && !SINK_ONLY.includes(c)).sort();
}

/**
 * The JDBC sink has the record's fields as columns: the business columns and `__op`, `__deleted`,
 * `__source_ts_ms`, `__synced_ms`. A JSON column may be `json` there and `text` in the project sink (or the
 * reverse): the text side is parsed. Returns the business columns.
 */
function checkColumns(own: ReadTable, connect: ReadTable, table: string): string[] {
  const business = businessColumns(own);
  expect([...connect.types.keys()].sort(), `${table}: the JDBC sink's columns`).toEqual([...business, ...Object.values(OWN_META)].sort());
  const typeOf = (side: ReadTable, c: string) => side.types.get(c)!;
  const unexpected = [...business, ...Object.keys(OWN_META)].flatMap((c) => {
    const theirs = typeOf(connect, OWN_META[c as keyof typeof OWN_META] ?? c);
    return typeOf(own, c) === theirs || TYPE_DIFFERENCES.has(`${typeOf(own, c)} -> ${theirs}`) ? [] : [`${c}: ${typeOf(own, c)} -> ${theirs}`];
  });
  expect(unexpected, `${table}: column types beyond the documented differences`).toEqual([]);
  return business;
}

/** A value of column `c` comparable across both sinks (json text parsed where the other side is json). */
function comparable(own: ReadTable, connect: ReadTable) {
  return (c: string, v: unknown, side: 'own' | 'connect'): unknown => {
    const [mine, other] = side === 'own' ? [own.types.get(c), connect.types.get(c)] : [connect.types.get(c), own.types.get(c)];
    if (typeof v === 'string' && !JSON_TYPES.has(mine ?? '') && JSON_TYPES.has(other ?? '')) return JSON.parse(v);
    return v;
  };
}

const byKey = (keys: string[]) => (a: Row, b: Row) => {
  for (const k of keys) {
    const [x, y] = [Number(a[k]), Number(b[k])];
    if (x !== y) return x - y;
  }
  return 0;
};

/**
 * Latest-state tables: the JDBC sink's rows equal the project sink's rows that are not `_deleted` (the JDBC
 * sink deletes a row on its tombstone; the project's sink keeps it, flagged), column for column, with the
 * project's `_op` / `_source_ts` compared to `__op` / `__source_ts_ms`. `__synced_ms` (the producer's write
 * time) has no counterpart: the project's `_synced` is the sink's own time.
 */
export function compareLatest(own: ReadTable, connect: ReadTable, table: string): { ownLive: number; connectRows: Row[] } {
  const business = checkColumns(own, connect, table);
  const value = comparable(own, connect);
  const fromOwn = own.rows
    .filter((r) => r._deleted !== true)
    .map((r) => ({ ...Object.fromEntries(business.map((c) => [c, value(c, r[c], 'own')])), __op: r._op, __deleted: false, __source_ts_ms: r._source_ts }));
  const fromConnect = connect.rows.map((r) => ({ ...Object.fromEntries(business.map((c) => [c, value(c, r[c], 'connect')])), __op: r.__op, __deleted: r.__deleted, __source_ts_ms: r.__source_ts_ms }));
  expect(fromConnect.length, `${table}: live rows`).toBe(fromOwn.length);
  expect(fromConnect.sort(byKey(['id'])), `${table}: every live row and column`).toEqual(fromOwn.sort(byKey(['id'])));
  return { ownLive: fromOwn.length, connectRows: connect.rows };
}

/**
 * History tables. The JDBC sink keeps one row per record key (entity key + `__source_ts_ms`): every version,
 * and each delete record as a row of its own. The project's sink keeps one row per version (`_start` =
 * the version's `__source_ts_ms`) and a delete ends the version it deletes (`_deleted`, `_end` = the delete's
 * time). So: the JDBC sink's non-delete rows equal the project's versions (business columns, `__op`, the
 * version time); its delete rows are, key for key, the project's deleted versions' ends.
 */
export function compareHistory(own: ReadTable, connect: ReadTable, table: string): { versions: number; deletes: number[] } {
  const business = checkColumns(own, connect, table);
  const value = comparable(own, connect);
  const versions = own.rows.map((r) => ({ ...Object.fromEntries(business.map((c) => [c, value(c, r[c], 'own')])), __op: r._op, __source_ts_ms: r._start }));
  const connectVersions = connect.rows.filter((r) => r.__op !== 'd');
  expect(connectVersions.every((r) => r.__deleted === false), `${table}: version records are not deletes`).toBe(true);
  const fromConnect = connectVersions.map((r) => ({ ...Object.fromEntries(business.map((c) => [c, value(c, r[c], 'connect')])), __op: r.__op, __source_ts_ms: r.__source_ts_ms }));
  const keys = ['id', '__source_ts_ms'];
  expect(fromConnect.length, `${table}: versions`).toBe(versions.length);
  expect(fromConnect.sort(byKey(keys)), `${table}: every version, column for column`).toEqual(versions.sort(byKey(keys)));
  expect(own.rows.every((r) => r._start === r._source_ts), `${table}: a version starts at its source time`).toBe(true);

  const connectDeletes = connect.rows.filter((r) => r.__op === 'd');
  expect(connectDeletes.every((r) => r.__deleted === true), `${table}: delete records say so`).toBe(true);
  const deleteKeys = (rows: Row[], at: string) => rows.map((r) => `${Number(r.id)}@${Number(r[at])}`).sort();
  expect(deleteKeys(connectDeletes, '__source_ts_ms'), `${table}: the deletes`).toEqual(deleteKeys(own.rows.filter((r) => r._deleted === true), '_end'));
  return { versions: versions.length, deletes: connectDeletes.map((r) => Number(r.id)) };
}
