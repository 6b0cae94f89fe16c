import pg from 'pg';
import { failpoint } from '../../failpoint.ts';
import type { Destination, PartitionOffset, SinkTable, SinkValue, SqlType, TableChanges } from '../model.ts';
import { offsetKey } from '../model.ts';
import { OFFSETS_TABLE, allColumns, applyHistorySql, chunkRows, createTableSql, quoteIdent, tableKey, valuesPlaceholders } from './sql.ts';

const pgType: Record<SqlType, string> = {
  bigint: 'BIGINT',
  integer: 'INTEGER',
  double: 'DOUBLE PRECISION',
  text: 'TEXT',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
};

/** PostgreSQL for production: multi-row INSERT … ON CONFLICT DO UPDATE, offsets in the same transaction. */
export async function openPostgres(databaseUrl: string, schema = 'public'): Promise<Destination> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const s = quoteIdent(schema);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${s}.${OFFSETS_TABLE} (topic TEXT, "partition" INTEGER, next_offset BIGINT, PRIMARY KEY (topic, "partition"))`,
  );
  const known = new Map<string, Set<string>>();
  const qualified = (table: string) => `${s}.${quoteIdent(table)}`;

  return {
    kind: 'postgres',
    async readOffsets() {
      const r = await client.query(`SELECT topic, "partition", next_offset FROM ${s}.${OFFSETS_TABLE}`);
      return new Map(r.rows.map((row) => [offsetKey(row.topic, row.partition), BigInt(row.next_offset)]));
    },

    async ensureTable(table: SinkTable) {
      const have = known.get(table.name);
      if (have && allColumns(table).every((c) => have.has(c.name))) return;
      await client.query(createTableSql(table, (t) => pgType[t]).replace(/^CREATE TABLE IF NOT EXISTS "[^"]+"/, `CREATE TABLE IF NOT EXISTS ${qualified(table.name)}`));
      for (const c of allColumns(table)) {
        await client.query(`ALTER TABLE ${qualified(table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${pgType[c.type]}`);
      }
      known.set(table.name, new Set(allColumns(table).map((c) => c.name)));
    },

    async apply(changes: readonly TableChanges[], offsets: readonly PartitionOffset[]) {
      await client.query('BEGIN');
      try {
        for (const ch of changes) await applyTable(client, qualified(ch.table.name), ch);
        for (const o of offsets) {
          await client.query(
            `INSERT INTO ${s}.${OFFSETS_TABLE} VALUES ($1, $2, $3) ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset`,
            [o.topic, o.partition, o.nextOffset.toString()],
          );
        }
        failpoint('sink.before-db-commit');
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },

    async countRows() {
      const r = await client.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> $2 ORDER BY table_name`,
        [schema, OFFSETS_TABLE],
      );
      const out = new Map<string, number>();
      for (const row of r.rows) {
        const c = await client.query(`SELECT count(*)::int AS n FROM ${qualified(row.table_name)}`);
        out.set(row.table_name, c.rows[0].n);
      }
      return out;
    },

    async close() {
      await client.end();
    },
  };
}

async function applyTable(client: pg.Client, table: string, ch: TableChanges): Promise<void> {
  const cols = allColumns(ch.table);
  const key = tableKey(ch.table);
  const pk = key.map(quoteIdent).join(', ');
  const updates = cols.filter((c) => !key.includes(c.name)).map((c) => `${quoteIdent(c.name)} = EXCLUDED.${quoteIdent(c.name)}`);
  if (ch.kind === 'history') {
    await applyHistorySql(table, ch.table, ch, (i, type) => `$${i}::${pgType[type]}`, (sql, params) => client.query(sql, params).then(() => undefined));
  }
  const upserts = ch.kind === 'history' ? ch.rows : ch.upserts;
  for (const rows of chunkRows(upserts, cols.length)) {
    const params = rows.flatMap((r) => cols.map((c) => bind(r[c.name] ?? null)));
    await client.query(
      `INSERT INTO ${table} (${cols.map((c) => quoteIdent(c.name)).join(',')}) VALUES ${valuesPlaceholders(rows.length, cols.length)} ` +
        `ON CONFLICT (${pk}) DO UPDATE SET ${updates.join(', ')}`,
      params,
    );
  }
  if (ch.kind === 'history') return;
  for (const key of ch.tombstones) {
    const names = ch.table.primaryKey;
    await client.query(
      `UPDATE ${table} SET _deleted = true WHERE ${names.map((k, i) => `${quoteIdent(k)} = $${i + 1}`).join(' AND ')}`,
      names.map((k) => bind(key[k] ?? null)),
    );
  }
}

function bind(v: SinkValue): unknown {
  return v instanceof Date ? v.toISOString() : v;
}
