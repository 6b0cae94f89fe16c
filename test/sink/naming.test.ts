/**
 * SINK_NAMING=fivetran against a real DuckDB (embedded, a temp file): tables from the producer's schemas
 * get Fivetran's column names and system columns, and every statement the sink runs — upserts, soft deletes,
 * deletes that carry only their key, the type-2 merge — works under those names.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../src/catalog/index.ts';
import { keySchema, valueSchema } from '../../src/publish/avro-schema.ts';
import { tableFromSchemas } from '../../src/sink/avro-table.ts';
import { openDuckDb } from '../../src/sink/destinations/duckdb.ts';
import { FIVETRAN_NAMING, NATIVE_NAMING } from '../../src/sink/model.ts';
import { reduceBatch, type DecodedRecord } from '../../src/sink/reduce.ts';

const table = (name: string, naming = FIVETRAN_NAMING) => {
  const spec = catalog.get(name)!;
  return tableFromSchemas(name, keySchema('p', spec), valueSchema('p', spec), naming);
};
const deal = (id: number, title: string, at: number, op = 'u') => ({
  ...Object.fromEntries(catalog.get('deal')!.columns.map((c) => [c.name, null])),
  id, title, owner_id: 7, add_time: 1_000, is_deleted: op === 'd', __op: op, __deleted: op === 'd', __source_ts_ms: at, __synced_ms: at + 1,
});

describe("SINK_NAMING=fivetran: Fivetran's names in the destination", () => {
  it('the value schema carries the names; native naming ignores them', () => {
    expect(table('deal').columns.find((c) => c.name === 'owner_id')).toEqual({ name: 'owner_id', type: 'bigint', as: 'user_id' });
    expect(table('deal_history').columns.find((c) => c.name === 'add_time')?.as).toBe('created_at');
    expect(table('person_email').columns.find((c) => c.name === 'value')?.as).toBe('email');
    expect(table('deal', NATIVE_NAMING).columns.some((c) => c.as !== undefined)).toBe(false);
  });

  it('latest and type-2 tables are written, soft-deleted and merged under those names', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pcdc-naming-')), 'n.duckdb');
    const db = await openDuckDb(path);
    const latest = table('deal');
    const history = table('deal_history');
    await db.ensureTable(latest);
    await db.ensureTable(history);
    const rec = (t: typeof latest, offset: bigint, value: Record<string, unknown> | null, id: number, at = 0): DecodedRecord => ({ table: t, offset, key: t.kind === 'history' ? { id, __source_ts_ms: at } : { id }, value });
    const now = new Date('2026-05-04T10:00:00Z');
    await db.apply(reduceBatch([rec(latest, 0n, deal(1, 'a', 2_000), 1), rec(latest, 1n, deal(2, 'b', 2_000), 2), rec(latest, 2n, deal(2, 'b', 3_000, 'd'), 2), rec(latest, 3n, null, 2)], now), { topic: 't', partition: 0, expected: null, next: 4n });
    // A delete found by absence: only the key, the stored values stay.
    await db.apply(reduceBatch([rec(latest, 4n, { ...deal(1, null as never, 4_000, 'd'), owner_id: null, add_time: null, is_deleted: null }, 1)], now), { topic: 't', partition: 0, expected: 4n, next: 5n });
    await db.apply(reduceBatch([rec(history, 0n, deal(5, 'v1', 1_000), 5, 1_000), rec(history, 1n, deal(5, 'v2', 5_000), 5, 5_000)], now), { topic: 'h', partition: 0, expected: null, next: 2n });
    // A late version and a delete in a later batch: the merge reads and updates the stored chain by Fivetran's names.
    await db.apply(reduceBatch([rec(history, 2n, deal(5, 'v1b', 3_000), 5, 3_000), rec(history, 3n, deal(5, 'v2', 8_000, 'd'), 5, 8_000)], now), { topic: 'h', partition: 0, expected: 2n, next: 4n });
    await db.close();

    const instance = await DuckDBInstance.create(path);
    const conn = await instance.connect();
    const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
    expect(await rows('SELECT id, title, user_id, created_at, _fivetran_deleted, _fivetran_synced FROM deal ORDER BY id')).toEqual([
      { id: 1n, title: 'a', user_id: 7n, created_at: new Date(1_000), _fivetran_deleted: true, _fivetran_synced: now },
      { id: 2n, title: 'b', user_id: 7n, created_at: new Date(1_000), _fivetran_deleted: true, _fivetran_synced: now },
    ]);
    const columns = (await rows("SELECT column_name FROM information_schema.columns WHERE table_name = 'deal_history'")).map((r) => r.column_name);
    expect(columns).toEqual(expect.arrayContaining(['user_id', 'created_at', 'deleted', '_fivetran_start', '_fivetran_end', '_fivetran_active', '_fivetran_deleted', '_fivetran_synced']));
    expect(columns).not.toEqual(expect.arrayContaining(['owner_id']));
    expect(await rows('SELECT title, _fivetran_start, _fivetran_end, _fivetran_active FROM deal_history ORDER BY _fivetran_start')).toEqual([
      { title: 'v1', _fivetran_start: new Date(1_000), _fivetran_end: new Date(2_999), _fivetran_active: false },
      { title: 'v1b', _fivetran_start: new Date(3_000), _fivetran_end: new Date(4_999), _fivetran_active: false },
      { title: 'v2', _fivetran_start: new Date(5_000), _fivetran_end: new Date(8_000), _fivetran_active: false },
    ]);
    conn.closeSync();
    instance.closeSync();
  });
});
