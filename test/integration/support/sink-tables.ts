import { DuckDBInstance } from '@duckdb/node-api';
import { expect } from 'vitest';
import { canonicalSinkRow, keyOf, sinkMetaColumns, type ExpectedTable } from './expected.ts';

export type DbRow = Record<string, unknown>;
export interface DbTable {
  readonly columns: readonly string[];
  readonly rows: readonly DbRow[];
}

/** Every table of a DuckDB file (bookkeeping tables `_…` left out): its columns and rows. */
export async function readDuck(path: string): Promise<Map<string, DbTable>> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  const out = new Map<string, DbTable>();
  const tables = (await conn.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE table_name NOT LIKE '\\_%' ESCAPE '\\'")).getRowObjectsJS();
  for (const t of tables) {
    const name = String(t.table_name);
    const columns = (await conn.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_name = '${name}'`)).getRowObjectsJS().map((c) => String(c.column_name));
    out.set(name, { columns, rows: (await conn.runAndReadAll(`SELECT * FROM "${name}"`)).getRowObjectsJS() as DbRow[] });
  }
  conn.closeSync();
  instance.closeSync();
  return out;
}

/**
 * Each expected table against the sink: the column set, the live keys, and every live row column for column
 * (a wrong column set is a soft failure, so the rows are still reported). Returns the values compared.
 */
export function expectSinkTables(db: ReadonlyMap<string, DbTable>, expected: ReadonlyMap<string, ExpectedTable>): number {
  let compared = 0;
  for (const [table, want] of expected) {
    const stored = db.get(table);
    if (stored) {
      const wanted = new Set([...want.columns.map((c) => c.name), ...sinkMetaColumns]);
      const missing = [...wanted].filter((c) => !stored.columns.includes(c));
      const extra = stored.columns.filter((c) => !wanted.has(c));
      expect.soft({ missing, extra }, `${table}: columns`).toEqual({ missing: [], extra: [] });
    }
    const rows = (stored?.rows ?? []).map((r) => canonicalSinkRow(want, r));
    const live = new Map(rows.filter((r) => r._deleted !== true).map((r) => [keyOf(want, r), r]));
    expect([...live.keys()].sort(), `${table}: live keys`).toEqual([...want.rows.keys()].sort());
    for (const [key, row] of want.rows) {
      const got = live.get(key)!;
      for (const col of want.columns) {
        expect(got[col.name], `${table} ${key}.${col.name}`).toEqual(row[col.name]);
        compared++;
      }
    }
  }
  return compared;
}
