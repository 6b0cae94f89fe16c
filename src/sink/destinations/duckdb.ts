import { DuckDBDateValue, DuckDBInstance, DuckDBTimestampValue, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { failpoint } from '../../failpoint.ts';
import type { ApplyItem, ApplyResult, Destination, OffsetAdvance, SinkColumn, SinkTable, SinkValue, SqlType, TableChanges } from '../model.ts';
import { offsetKey } from '../model.ts';
import { duckDbError } from './errors.ts';
import { MARKERS_TABLE, applyMarkers, markersTableSql } from '../resync.ts';
import { OFFSETS_TABLE, allColumns, applyHistory, casOrder, chunkRows, createTableSql, describeItems, ident, markDeleted, mergeChanges, physical, quoteIdent, tableKey } from './sql.ts';

const duckType: Record<SqlType, string> = {
  bigint: 'BIGINT',
  integer: 'INTEGER',
  double: 'DOUBLE',
  text: 'VARCHAR',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
};

/**
 * DuckDB, the embedded default (one file, no server). DuckDB lets one process write a file: a second sink
 * on the same file fails at open with a message saying so (destinations/errors.ts).
 */
export async function openDuckDb(path: string): Promise<Destination> {
  const guard = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw duckDbError(err, path, what);
    }
  };
  const instance = await guard('opening the file', () => DuckDBInstance.create(path));
  const conn = await guard('connecting', () => instance.connect());
  await guard('creating the offsets table', () =>
    conn.run(`CREATE TABLE IF NOT EXISTS ${OFFSETS_TABLE} (topic VARCHAR, "partition" INTEGER, next_offset BIGINT, PRIMARY KEY (topic, "partition"))`),
  );
  await guard('creating the markers table', () => conn.run(markersTableSql(MARKERS_TABLE, (t) => duckType[t])));
  const known = new Map<string, Set<string>>();

  const applyAll = (items: readonly ApplyItem[]) =>
    guard(`applying ${describeItems(items)}`, async (): Promise<ApplyResult[]> => {
      const results: ApplyResult[] = new Array<ApplyResult>(items.length);
      await conn.run('BEGIN TRANSACTION');
      try {
        // The compare-and-sets first, as in PostgreSQL (one writing process per file makes them a guard against
        // this process's own stale view, e.g. after a rebalance).
        for (const i of casOrder(items)) {
          const offset = items[i]!.offset;
          const cas =
            offset.expected === null
              ? await conn.run(`INSERT INTO ${OFFSETS_TABLE} VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [offset.topic, offset.partition, offset.next])
              : await conn.run(`UPDATE ${OFFSETS_TABLE} SET next_offset = $3 WHERE topic = $1 AND "partition" = $2 AND next_offset = $4`, [
                  offset.topic,
                  offset.partition,
                  offset.next,
                  offset.expected,
                ]);
          if (cas.rowsChanged === 1) {
            results[i] = { applied: true };
            continue;
          }
          const r = await conn.runAndReadAll(`SELECT next_offset FROM ${OFFSETS_TABLE} WHERE topic = $1 AND "partition" = $2`, [offset.topic, offset.partition]);
          const row = r.getRowObjectsJS()[0];
          results[i] = { applied: false, stored: row ? BigInt(row.next_offset as bigint) : null };
        }
        const applying = items.filter((_, i) => results[i]!.applied);
        if (applying.length === 0) {
          await conn.run('ROLLBACK');
          return results;
        }
        for (const ch of mergeChanges(applying.map((i) => i.changes))) await applyTable(conn, ch);
        const markers = applying.flatMap((i) => i.markers ?? []);
        if (markers.length > 0) {
          // One writing process per file: the transactions take turns already.
          await applyMarkers(markers, {
            markers: MARKERS_TABLE,
            qualified: quoteIdent,
            column: ident,
            param: (i, type) => `CAST($${i} AS ${duckType[type]})`,
            query: async (sql, params) => (await conn.runAndReadAll(sql, params as never)).getRowObjectsJS() as Array<Record<string, unknown>>,
            run: async (sql, params) => Number((await conn.run(sql, params as never)).rowsChanged),
          }, new Date());
        }
        failpoint('sink.before-db-commit');
        await conn.run('COMMIT');
        return results;
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });

  return {
    kind: 'duckdb',
    where: path,
    readOffsets: () =>
      guard('reading the stored offsets', async () => {
        const r = await conn.runAndReadAll(`SELECT topic, "partition", next_offset FROM ${OFFSETS_TABLE}`);
        const out = new Map<string, bigint>();
        for (const row of r.getRowObjectsJS()) out.set(offsetKey(String(row.topic), Number(row.partition)), BigInt(row.next_offset as bigint));
        return out;
      }),

    ensureTable: (table: SinkTable) =>
      guard(`creating table ${table.name}`, async () => {
        const have = known.get(table.name);
        if (have && allColumns(table).every((c) => have.has(physical(table, c.name)))) return;
        await conn.run(createTableSql(table, (t) => duckType[t]));
        const r = await conn.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_name = $1`, [table.name]);
        const cols = new Set(r.getRowObjectsJS().map((x) => String(x.column_name)));
        for (const c of allColumns(table)) {
          const name = physical(table, c.name);
          if (!cols.has(name)) {
            await conn.run(`ALTER TABLE ${quoteIdent(table.name)} ADD COLUMN ${quoteIdent(name)} ${duckType[c.type]}`);
            cols.add(name);
          }
        }
        known.set(table.name, cols);
      }),

    apply: async (changes: readonly TableChanges[], offset: OffsetAdvance) => (await applyAll([{ changes, offset }]))[0]!,
    applyAll: (items: readonly ApplyItem[]) => applyAll(items),

    countRows: () =>
      guard('counting rows', async () => {
        const out = new Map<string, number>();
        const r = await conn.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE table_name NOT IN ('${OFFSETS_TABLE}', '${MARKERS_TABLE}') ORDER BY table_name`);
        for (const row of r.getRowObjectsJS()) {
          const name = String(row.table_name);
          const c = await conn.runAndReadAll(`SELECT count(*) AS n FROM ${quoteIdent(name)}`);
          out.set(name, Number(c.getRowObjectsJS()[0]?.n ?? 0));
        }
        return out;
      }),

    async close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

async function applyTable(conn: DuckDBConnection, ch: TableChanges): Promise<void> {
  const t = quoteIdent(ch.table.name);
  if (ch.kind === 'history') {
    await applyHistory(t, ch, {
      param: (i, type) => `CAST($${i} AS ${duckType[type]})`,
      query: async (sql, params) => (await conn.runAndReadAll(sql, params as never)).getRowObjectsJS() as Array<Record<string, unknown>>,
      run: async (sql, params) => void (await conn.run(sql, params as never)),
      upsertRows: (rows) => replaceRows(conn, ch.table, rows),
      stage: async (label, cols, rows) => quoteIdent(await appendStage(conn, `_stage_${label}`, cols, rows)),
    });
    return;
  }
  if (ch.upserts.length > 0) await replaceRows(conn, ch.table, ch.upserts);
  const pk = ch.table.primaryKey;
  for (const rows of chunkRows(ch.tombstones, pk.length)) {
    const params: unknown[] = [];
    const tuples = rows.map((r) => `(${pk.map((k) => (params.push(r[k] ?? null), `$${params.length}`)).join(',')})`);
    await conn.run(`UPDATE ${t} SET ${ident(ch.table, '_deleted')} = true WHERE (${pk.map((k) => ident(ch.table, k)).join(',')}) IN (${tuples.join(',')})`, params as never);
  }
  await markDeleted(t, ch.table, ch.keyOnlyDeletes, (i, type) => `CAST($${i} AS ${duckType[type]})`, async (sql, params) => void (await conn.run(sql, params as never)));
}

/**
 * Stages the rows through an Appender (no SQL parameter per value), then replaces their keys in one
 * DELETE … USING and one INSERT … SELECT — the pattern that measured fastest on DuckDB (docs/ARCHITECTURE.md).
 * Rows must be unique by the table's key (the reducers guarantee it).
 */
async function replaceRows(conn: DuckDBConnection, table: SinkTable, rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>): Promise<void> {
  const t = quoteIdent(table.name);
  const stage = await stageRows(conn, table, rows);
  // The stage's columns carry the field names; the table's are the naming's (physical).
  const match = tableKey(table).map((k) => `${t}.${ident(table, k)} = s.${quoteIdent(k)}`).join(' AND ');
  await conn.run(`DELETE FROM ${t} USING ${stage} s WHERE ${match}`);
  await conn.run(`INSERT INTO ${t} (${allColumns(table).map((c) => ident(table, c.name)).join(',')}) SELECT * FROM ${stage}`);
}

/** Appends rows to a fresh temp table shaped like the target (no SQL parameter per value); returns its name. */
async function stageRows(conn: DuckDBConnection, table: SinkTable, rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>): Promise<string> {
  return quoteIdent(await appendStage(conn, `_stage_${table.name}`, allColumns(table), rows));
}

/** A fresh temp table of `cols` (named by their field names), filled through an Appender. */
async function appendStage(conn: DuckDBConnection, name: string, cols: readonly SinkColumn[], rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>): Promise<string> {
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdent(name)} (${cols.map((c) => `${quoteIdent(c.name)} ${duckType[c.type]}`).join(', ')})`);
  const appender = await conn.createAppender(name, 'main', 'temp');
  feederOf(cols)(appender, rows);
  appender.closeSync();
  return name;
}

const DAY_MS = 86_400_000;

/** Appends rows, a value of each column after the other, by the column's type. */
type RowFeeder = (appender: DuckDBAppender, rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>) => void;

const feeders = new Map<string, RowFeeder>();

/**
 * The Appender's feed compiled once per column list (as copy-text.ts does for COPY): each column is read by
 * its name as a constant (one hidden class per table's rows, so the reads stay monomorphic, where a loop over
 * the columns reads by a changing key) and appended by its type, null for null or absent.
 */
function feederOf(cols: readonly SinkColumn[]): RowFeeder {
  const id = cols.map((c) => `${c.name}\u0000${c.type}`).join('\u0001');
  let feed = feeders.get(id);
  if (feed) return feed;
  const appendOf: Record<SqlType, string> = {
    bigint: 'a.appendBigInt(BigInt(v))',
    integer: 'a.appendInteger(Number(v))',
    double: 'a.appendDouble(Number(v))',
    boolean: 'a.appendBoolean(Boolean(v))',
    timestamp: 'a.appendTimestamp(new Timestamp(BigInt(v.getTime()) * 1000n))',
    date: 'a.appendDate(new DateValue(Math.round(Date.parse(String(v) + "T00:00:00Z") / DAY_MS)))',
    text: 'a.appendVarchar(String(v))',
  };
  // Column names enter the code only as JSON string literals.
  const body = cols.map((c) => `v = row[${JSON.stringify(c.name)}]; if (v === null || v === undefined) a.appendNull(); else ${appendOf[c.type]};`).join('\n');
  const make = new Function('Timestamp', 'DateValue', 'DAY_MS', `return function feed(a, rows) { for (const row of rows) { let v; ${body} a.endRow(); } }`) as (
    timestamp: typeof DuckDBTimestampValue,
    date: typeof DuckDBDateValue,
    dayMs: number,
  ) => RowFeeder;
  feed = make(DuckDBTimestampValue, DuckDBDateValue, DAY_MS);
  feeders.set(id, feed);
  return feed;
}
