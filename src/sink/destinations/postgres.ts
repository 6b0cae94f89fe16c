import { createHash } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../../config.ts';
import { failpoint } from '../../failpoint.ts';
import type { ApplyItem, ApplyResult, Destination, OffsetAdvance, SinkColumn, SinkTable, SinkValue, SqlType, TableChanges } from '../model.ts';
import { offsetKey } from '../model.ts';
import { postgresError } from './errors.ts';
import { copyRows } from './copy-text.ts';
import { copyFrom } from './pg-copy.ts';
import { MARKERS_TABLE, applyMarkers, markersTableSql } from '../resync.ts';
import { OFFSETS_TABLE, allColumns, applyHistory, casOrder, chunkRows, createTableSql, describeItems, ident, markDeleted, mergeChanges, physical, quoteIdent, tableKey } from './sql.ts';

const pgType: Record<SqlType, string> = {
  bigint: 'BIGINT',
  integer: 'INTEGER',
  double: 'DOUBLE PRECISION',
  text: 'TEXT',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
};

/**
 * PostgreSQL for production, safe for several sink instances on one database: rows are COPied into a
 * temporary stage, then one INSERT … SELECT … ON CONFLICT DO UPDATE; the offsets compare-and-sets come first
 * in each transaction, DDL is serialised by an advisory lock. One connection, opened on first use and again after it was lost (a server restart): a
 * failure rolls the transaction back (the server does so for a dead connection), and the caller retries.
 */
export async function openPostgres(databaseUrl: string, schema = 'public'): Promise<Destination> {
  const where = `${redactUrl(databaseUrl)} (schema ${schema})`;
  const s = quoteIdent(schema);
  const qualified = (table: string) => `${s}.${quoteIdent(table)}`;
  const known = new Map<string, Set<string>>();
  let client: pg.Client | undefined;

  /** Drops a connection that failed: the next call opens a new one. */
  const discard = (c: pg.Client) => {
    if (client === c) client = undefined;
    void c.end().catch(() => undefined);
  };
  const connected = async (): Promise<pg.Client> => {
    if (client) return client;
    const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000, keepAlive: true });
    // A server that goes away while the connection is idle emits 'error' on the client; unheard, it would
    // end the process. The next call sees the dropped client and connects again.
    c.on('error', () => discard(c));
    try {
      await c.connect();
    } catch (err) {
      void c.end().catch(() => undefined);
      throw err;
    }
    client = c;
    return c;
  };
  /** Runs `fn` on the connection; failures become DatabaseErrors, and a retriable one drops the connection. */
  const session = async <T>(what: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    let c: pg.Client | undefined;
    try {
      c = await connected();
      return await fn(c);
    } catch (err) {
      const e = postgresError(err, where, what);
      if (e.retriable && c) discard(c);
      throw e;
    }
  };
  /** DDL of concurrent sinks on one database would race (CREATE … IF NOT EXISTS is not atomic): one at a time. */
  const ddl = (what: string, statements: (c: pg.Client) => Promise<void>) =>
    session(what, async (c) => {
      await c.query('BEGIN');
      try {
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pipedrive-cdc ddl ${schema}`]);
        await statements(c);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });

  /** Temporary stages each connection has (they live as long as it does). */
  const stages = new WeakMap<pg.Client, Set<string>>();

  const applyAll = (items: readonly ApplyItem[]) =>
    session(`applying ${describeItems(items)}`, async (c): Promise<ApplyResult[]> => {
      const results: ApplyResult[] = new Array<ApplyResult>(items.length);
      const have = stages.get(c) ?? new Set<string>();
      const created = new Set<string>();
      const stage: Stager = async (name, cols, rows) => {
        if (!have.has(name) && !created.has(name)) {
          await c.query(`CREATE TEMP TABLE IF NOT EXISTS ${quoteIdent(name)} (${cols.map((col) => `${quoteIdent(col.name)} ${pgType[col.type]}`).join(', ')})`);
          created.add(name);
        } else await c.query(`TRUNCATE ${quoteIdent(name)}`);
        await copyFrom(c, `COPY ${quoteIdent(name)} FROM STDIN`, copyRows(rows, cols));
        return quoteIdent(name);
      };
      await c.query('BEGIN');
      try {
        // First, in (topic, partition) order, so a second sink applying the same partitions waits here on the
        // row locks (never in a cycle), then sees the moved offsets.
        for (const i of casOrder(items)) {
          const offset = items[i]!.offset;
          const cas =
            offset.expected === null
              ? await c.query(`INSERT INTO ${s}.${OFFSETS_TABLE} VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [offset.topic, offset.partition, offset.next.toString()])
              : await c.query(`UPDATE ${s}.${OFFSETS_TABLE} SET next_offset = $3 WHERE topic = $1 AND "partition" = $2 AND next_offset = $4`, [
                  offset.topic,
                  offset.partition,
                  offset.next.toString(),
                  offset.expected.toString(),
                ]);
          if (cas.rowCount === 1) {
            results[i] = { applied: true };
            continue;
          }
          const r = await c.query(`SELECT next_offset FROM ${s}.${OFFSETS_TABLE} WHERE topic = $1 AND "partition" = $2`, [offset.topic, offset.partition]);
          results[i] = { applied: false, stored: r.rows[0] ? BigInt(r.rows[0].next_offset) : null };
        }
        const applying = items.filter((_, i) => results[i]!.applied);
        if (applying.length === 0) {
          await c.query('ROLLBACK');
          return results;
        }
        // Transactions with re-sync markers take turns on the schema (before any row lock is taken, so they
        // never wait on each other in a cycle): the last end marker of a topic sees all the others.
        const markers = applying.flatMap((i) => i.markers ?? []);
        if (markers.length > 0) await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`pipedrive-cdc resync ${schema}`]);
        for (const ch of mergeChanges(applying.map((i) => i.changes))) await applyTable(c, qualified(ch.table.name), ch, stage);
        if (markers.length > 0) {
          await applyMarkers(markers, {
            markers: qualified(MARKERS_TABLE),
            qualified,
            column: ident,
            param: (i, type) => `$${i}::${pgType[type]}`,
            query: async (sql, params) => (await c.query(sql, params)).rows,
            run: async (sql, params) => (await c.query(sql, params)).rowCount ?? 0,
          }, new Date());
        }
        failpoint('sink.before-db-commit');
        await c.query('COMMIT');
        // A stage created in a transaction that rolled back is gone: only now is it known.
        for (const name of created) have.add(name);
        stages.set(c, have);
        return results;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });

  await ddl('creating the schema and the offsets table', async (c) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.${OFFSETS_TABLE} (topic TEXT, "partition" INTEGER, next_offset BIGINT, PRIMARY KEY (topic, "partition"))`);
    await c.query(markersTableSql(qualified(MARKERS_TABLE), (t) => pgType[t]));
  });

  return {
    kind: 'postgres',
    where,
    readOffsets: () =>
      session('reading the stored offsets', async (c) => {
        const r = await c.query(`SELECT topic, "partition", next_offset FROM ${s}.${OFFSETS_TABLE}`);
        return new Map(r.rows.map((row) => [offsetKey(row.topic, row.partition), BigInt(row.next_offset)]));
      }),

    async ensureTable(table: SinkTable) {
      const have = known.get(table.name);
      if (have && allColumns(table).every((c) => have.has(physical(table, c.name)))) return;
      await ddl(`creating table ${table.name}`, async (c) => {
        await c.query(createTableSql(table, (t) => pgType[t]).replace(/^CREATE TABLE IF NOT EXISTS "[^"]+"/, `CREATE TABLE IF NOT EXISTS ${qualified(table.name)}`));
        const r = await c.query('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2', [schema, table.name]);
        const present = new Set(r.rows.map((x: { column_name: string }) => x.column_name));
        const missing = allColumns(table).filter((col) => !present.has(physical(table, col.name)));
        if (missing.length > 0) {
          await c.query(`ALTER TABLE ${qualified(table.name)} ${missing.map((col) => `ADD COLUMN IF NOT EXISTS ${ident(table, col.name)} ${pgType[col.type]}`).join(', ')}`);
        }
      });
      known.set(table.name, new Set(allColumns(table).map((c) => physical(table, c.name))));
    },

    apply: async (changes: readonly TableChanges[], offset: OffsetAdvance) => (await applyAll([{ changes, offset }]))[0]!,
    applyAll: (items: readonly ApplyItem[]) => applyAll(items),

    countRows: () =>
      session('counting rows', async (c) => {
        const r = await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> $2 AND table_name <> $3 ORDER BY table_name`, [schema, OFFSETS_TABLE, MARKERS_TABLE]);
        const out = new Map<string, number>();
        for (const row of r.rows) {
          const n = await c.query(`SELECT count(*)::int AS n FROM ${qualified(row.table_name)}`);
          out.set(row.table_name, n.rows[0].n);
        }
        return out;
      }),

    async close() {
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

/** Fills a temporary stage shaped like the table's columns with `rows`; returns its (quoted) name. */
type Stager = (name: string, cols: readonly SinkColumn[], rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>) => Promise<string>;

/** A stage per purpose and column set (a widened table gets a new one). */
function stageName(label: string, cols: readonly SinkColumn[]): string {
  const shape = createHash('sha1')
    .update(cols.map((c) => `${c.name} ${c.type}`).join(','))
    .digest('hex')
    .slice(0, 10);
  return `_pcdc_stage_${label.slice(0, 36)}_${shape}`;
}

async function applyTable(client: pg.Client, table: string, ch: TableChanges, stage: Stager): Promise<void> {
  if (ch.kind === 'history') {
    await applyHistory(table, ch, {
      param: (i, type) => `$${i}::${pgType[type]}`,
      query: async (sql, params) => (await client.query(sql, params)).rows,
      run: async (sql, params) => void (await client.query(sql, params)),
      upsertRows: (rows) => upsert(client, table, ch.table, rows, stage),
      // The keys to look up and the chain updates go through COPY too (not a VALUES list with a parameter each).
      stage: (label, cols, rows) => stage(stageName(label, cols), cols, rows),
    });
    return;
  }
  await upsert(client, table, ch.table, ch.upserts, stage);
  const keyCols = ch.table.primaryKey.map((k) => ch.table.columns.find((c) => c.name === k) ?? { name: k, type: 'text' as const });
  for (const rows of chunkRows(ch.tombstones, keyCols.length)) {
    const params: unknown[] = [];
    const tuples = rows.map((r) => `(${keyCols.map((c) => (params.push(bind(r[c.name] ?? null)), `$${params.length}::${pgType[c.type]}`)).join(',')})`);
    const names = keyCols.map((c) => quoteIdent(c.name));
    await client.query(
      `UPDATE ${table} AS h SET ${ident(ch.table, '_deleted')} = true FROM (VALUES ${tuples.join(',')}) AS s(${names.join(',')}) ` +
        `WHERE ${keyCols.map((c) => `h.${ident(ch.table, c.name)} = s.${quoteIdent(c.name)}`).join(' AND ')}`,
      params,
    );
  }
  await markDeleted(table, ch.table, ch.keyOnlyDeletes, (i, type) => `$${i}::${pgType[type]}`, async (sql, params) => void (await client.query(sql, params)));
}

/**
 * COPY into the stage, then one INSERT … SELECT … ON CONFLICT DO UPDATE. Rows unique by the table's key (the
 * reducers guarantee it: ON CONFLICT may touch a row once per statement).
 */
async function upsert(client: pg.Client, table: string, spec: SinkTable, rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>, stage: Stager): Promise<void> {
  if (rows.length === 0) return;
  const cols = allColumns(spec);
  const key = tableKey(spec);
  // The stage's columns carry the field names; the table's are the naming's (physical).
  const staged = cols.map((c) => quoteIdent(c.name)).join(',');
  const names = cols.map((c) => ident(spec, c.name)).join(',');
  const updates = cols.filter((c) => !key.includes(c.name)).map((c) => `${ident(spec, c.name)} = EXCLUDED.${ident(spec, c.name)}`);
  const from = await stage(stageName(spec.name, cols), cols, rows);
  await client.query(`INSERT INTO ${table} (${names}) SELECT ${staged} FROM ${from} ON CONFLICT (${key.map((k) => ident(spec, k)).join(', ')}) DO UPDATE SET ${updates.join(', ')}`);
}

function bind(v: SinkValue): unknown {
  return v instanceof Date ? v.toISOString() : v;
}
