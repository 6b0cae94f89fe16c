import pg from 'pg';
import { redactUrl } from '../../config.ts';
import { failpoint } from '../../failpoint.ts';
import type { ApplyResult, Destination, OffsetAdvance, SinkTable, SinkValue, SqlType, TableChanges } from '../model.ts';
import { offsetKey } from '../model.ts';
import { postgresError } from './errors.ts';
import { OFFSETS_TABLE, allColumns, applyHistory, chunkRows, ident, markDeleted, createTableSql, physical, quoteIdent, tableKey, valuesPlaceholders } from './sql.ts';

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
 * PostgreSQL for production, safe for several sink instances on one database: multi-row INSERT … ON
 * CONFLICT DO UPDATE, each batch's offsets compare-and-set first in its transaction, DDL serialised by an
 * advisory lock. One connection, opened on first use and again after it was lost (a server restart): a
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

  await ddl('creating the schema and the offsets table', async (c) => {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${s}.${OFFSETS_TABLE} (topic TEXT, "partition" INTEGER, next_offset BIGINT, PRIMARY KEY (topic, "partition"))`);
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
        for (const col of allColumns(table)) {
          await c.query(`ALTER TABLE ${qualified(table.name)} ADD COLUMN IF NOT EXISTS ${ident(table, col.name)} ${pgType[col.type]}`);
        }
      });
      known.set(table.name, new Set(allColumns(table).map((c) => physical(table, c.name))));
    },

    apply: (changes: readonly TableChanges[], offset: OffsetAdvance) =>
      session(`applying ${offset.topic}/${offset.partition} up to offset ${offset.next - 1n}`, async (c): Promise<ApplyResult> => {
        await c.query('BEGIN');
        try {
          // First, so a second sink applying the same partition waits here on the row lock, then sees the moved offset.
          const cas =
            offset.expected === null
              ? await c.query(`INSERT INTO ${s}.${OFFSETS_TABLE} VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [offset.topic, offset.partition, offset.next.toString()])
              : await c.query(`UPDATE ${s}.${OFFSETS_TABLE} SET next_offset = $3 WHERE topic = $1 AND "partition" = $2 AND next_offset = $4`, [
                  offset.topic,
                  offset.partition,
                  offset.next.toString(),
                  offset.expected.toString(),
                ]);
          if (cas.rowCount !== 1) {
            const r = await c.query(`SELECT next_offset FROM ${s}.${OFFSETS_TABLE} WHERE topic = $1 AND "partition" = $2`, [offset.topic, offset.partition]);
            await c.query('ROLLBACK');
            return { applied: false, stored: r.rows[0] ? BigInt(r.rows[0].next_offset) : null };
          }
          for (const ch of changes) await applyTable(c, qualified(ch.table.name), ch);
          failpoint('sink.before-db-commit');
          await c.query('COMMIT');
          return { applied: true };
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),

    countRows: () =>
      session('counting rows', async (c) => {
        const r = await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> $2 ORDER BY table_name`, [schema, OFFSETS_TABLE]);
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

async function applyTable(client: pg.Client, table: string, ch: TableChanges): Promise<void> {
  if (ch.kind === 'history') {
    await applyHistory(table, ch, {
      param: (i, type) => `$${i}::${pgType[type]}`,
      query: async (sql, params) => (await client.query(sql, params)).rows,
      run: async (sql, params) => void (await client.query(sql, params)),
      upsertRows: (rows) => upsert(client, table, ch.table, rows),
    });
    return;
  }
  await upsert(client, table, ch.table, ch.upserts);
  for (const key of ch.tombstones) {
    const names = ch.table.primaryKey;
    await client.query(
      `UPDATE ${table} SET ${ident(ch.table, '_deleted')} = true WHERE ${names.map((k, i) => `${ident(ch.table, k)} = $${i + 1}`).join(' AND ')}`,
      names.map((k) => bind(key[k] ?? null)),
    );
  }
  await markDeleted(table, ch.table, ch.keyOnlyDeletes, (i, type) => `$${i}::${pgType[type]}`, async (sql, params) => void (await client.query(sql, params)));
}

/** Rows unique by the table's key (the reducers guarantee it: ON CONFLICT may touch a row once per statement). */
async function upsert(client: pg.Client, table: string, spec: SinkTable, rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>): Promise<void> {
  const cols = allColumns(spec);
  const key = tableKey(spec);
  const updates = cols.filter((c) => !key.includes(c.name)).map((c) => `${ident(spec, c.name)} = EXCLUDED.${ident(spec, c.name)}`);
  for (const chunk of chunkRows(rows, cols.length)) {
    const params = chunk.flatMap((r) => cols.map((c) => bind(r[c.name] ?? null)));
    await client.query(
      `INSERT INTO ${table} (${cols.map((c) => ident(spec, c.name)).join(',')}) VALUES ${valuesPlaceholders(chunk.length, cols.length)} ` +
        `ON CONFLICT (${key.map((k) => ident(spec, k)).join(', ')}) DO UPDATE SET ${updates.join(', ')}`,
      params,
    );
  }
}

function bind(v: SinkValue): unknown {
  return v instanceof Date ? v.toISOString() : v;
}
