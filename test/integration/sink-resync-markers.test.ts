import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDuckDb } from '../../src/sink/destinations/duckdb.ts';
import { openPostgres } from '../../src/sink/destinations/postgres.ts';
import { FIVETRAN_NAMING, NATIVE_NAMING, type ApplyItem, type Destination, type SinkNaming, type SinkTable } from '../../src/sink/model.ts';
import type { SinkMarker } from '../../src/sink/resync.ts';
import { dropPostgresSchemas } from './support/both-sinks.ts';
import { services, uniqueName } from './support/harness.ts';

/**
 * The sink's re-sync bookkeeping on both databases, through the destinations themselves: markers are
 * recorded with the offsets, rows keep their generation in `_resync`, and once every partition of a topic
 * passed the end marker the rows older than the generation are soft-deleted — once, even with two
 * PostgreSQL sinks applying the last end markers at the same moment.
 */
const TOPIC = 'rs.deal';
const GEN = 1_700_000_000_000;
const STARTED = GEN;

const tableOf = (naming: SinkNaming): SinkTable => ({ name: 'deal', kind: 'latest', primaryKey: ['id'], columns: [{ name: 'id', type: 'bigint' }, { name: 'title', type: 'text' }], naming });
const row = (id: number, resync: number | null) => ({ id, title: `deal ${id}`, _op: 'r', _deleted: false, _source_ts: new Date(1000 * id), _synced: new Date(), _resync: resync });
const marker = (table: SinkTable, partition: number, offset: bigint, kind: SinkMarker['kind']): SinkMarker => ({ topic: TOPIC, partition, offset, kind, generation: GEN, startedAt: STARTED, partitions: 2, table });
const item = (partition: number, expected: bigint | null, next: bigint, changes: ApplyItem['changes'], markers: SinkMarker[] = []): ApplyItem => ({
  changes,
  offset: { topic: TOPIC, partition, expected, next },
  ...(markers.length > 0 ? { markers } : {}),
});
const upserts = (table: SinkTable, rows: Array<ReturnType<typeof row>>): ApplyItem['changes'] => [{ kind: 'latest', table, upserts: rows, tombstones: [], keyOnlyDeletes: [] }];

type Query = (sql: string) => Promise<Array<Record<string, unknown>>>;

/** A destination under test and how to read it (DuckDB: one writer per file, so reading closes and reopens it). */
interface Under {
  apply(items: ApplyItem[]): Promise<void>;
  query: Query;
  close(): Promise<void>;
}

/**
 * Before the re-sync: deals 1–4 (1, 3 on partition 0; 2, 4 on partition 1). The re-sync writes 1 and 2
 * again (3 and 4 were purged in Pipedrive): after both end markers, and only then, 3 and 4 are soft-deleted.
 */
async function scenario(u: Under, table: SinkTable): Promise<void> {
  const deleted = table.naming?.kind === 'fivetran' ? '_fivetran_deleted' : '_deleted';
  await u.apply([item(0, null, 2n, upserts(table, [row(1, null), row(3, null)])), item(1, null, 2n, upserts(table, [row(2, null), row(4, null)]))]);
  await u.apply([item(0, 2n, 3n, [], [marker(table, 0, 2n, 'resync-begin')]), item(1, 2n, 3n, [], [marker(table, 1, 2n, 'resync-begin')])]);
  await u.apply([item(0, 3n, 4n, upserts(table, [row(1, GEN)])), item(1, 3n, 4n, upserts(table, [row(2, GEN)]))]);
  // One partition past its end marker: nothing is swept yet.
  await u.apply([item(0, 4n, 5n, [], [marker(table, 0, 4n, 'resync-end')])]);
  const midway = (await u.query(`SELECT id, ${deleted} AS d FROM deal ORDER BY id`)).map((r) => [Number(r.id), r.d]);
  expect(midway).toEqual([[1, false], [2, false], [3, false], [4, false]]);
  await u.apply([item(1, 4n, 5n, [], [marker(table, 1, 4n, 'resync-end')])]);
  await expectSwept(u.query, deleted);
  // The markers again (a sink that applied them already is refused by the offsets; this is a stale replay
  // at new offsets): no second sweep, nothing changes.
  await u.apply([item(1, 5n, 6n, [], [marker(table, 1, 5n, 'resync-end')])]);
  await expectSwept(u.query, deleted);
}

async function expectSwept(query: Query, deleted: string): Promise<void> {
  const rows = (await query(`SELECT id, ${deleted} AS d, _op, _resync, _source_ts FROM deal ORDER BY id`)).map((r) => ({
    id: Number(r.id),
    d: r.d,
    op: r._op,
    resync: r._resync === null ? null : Number(r._resync),
    ts: new Date(r._source_ts as string).getTime(),
  }));
  expect(rows).toEqual([
    { id: 1, d: false, op: 'r', resync: GEN, ts: 1000 },
    { id: 2, d: false, op: 'r', resync: GEN, ts: 2000 },
    { id: 3, d: true, op: 'd', resync: null, ts: STARTED },
    { id: 4, d: true, op: 'd', resync: null, ts: STARTED },
  ]);
  const markers = (await query(`SELECT topic, "partition", generation, kind FROM _pipedrive_cdc_markers ORDER BY kind, "partition"`)).map((r) => [r.topic, Number(r.partition), Number(r.generation), r.kind]);
  expect(markers).toEqual([
    [TOPIC, 0, GEN, 'resync-begin'],
    [TOPIC, 1, GEN, 'resync-begin'],
    [TOPIC, 0, GEN, 'resync-end'],
    [TOPIC, 1, GEN, 'resync-end'],
    [TOPIC, -1, GEN, 'swept'],
  ]);
}

const applyAll = (dest: Destination) => async (items: ApplyItem[]) => {
  const results = await dest.applyAll(items);
  expect(results.every((r) => r.applied)).toBe(true);
};

async function duckUnder(path: string, table: SinkTable): Promise<Under> {
  let dest = await openDuckDb(path);
  await dest.ensureTable(table);
  return {
    apply: async (items) => applyAll(dest)(items),
    async query(sql) {
      await dest.close();
      const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
      const conn = await instance.connect();
      try {
        return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, unknown>>;
      } finally {
        conn.closeSync();
        instance.closeSync();
        dest = await openDuckDb(path);
        await dest.ensureTable(table);
      }
    },
    close: () => dest.close(),
  };
}

describe('re-sync markers in the sink', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    await dropPostgresSchemas(...schemas);
  });

  for (const naming of [NATIVE_NAMING, FIVETRAN_NAMING]) {
    it(`DuckDB (${naming.kind} naming)`, async () => {
      const u = await duckUnder(join(mkdtempSync(join(tmpdir(), 'pcdc-rsm-')), 'sink.duckdb'), tableOf(naming));
      try {
        await scenario(u, tableOf(naming));
      } finally {
        await u.close();
      }
    });

    it(`PostgreSQL (${naming.kind} naming)`, async () => {
      const schema = uniqueName('rsm').replace(/[^a-z0-9_]/g, '_');
      schemas.push(schema);
      const dest = await openPostgres(services().databaseUrl, schema);
      const client = new pg.Client({ connectionString: services().databaseUrl });
      await client.connect();
      try {
        await client.query(`SET search_path TO "${schema}"`);
        await dest.ensureTable(tableOf(naming));
        await scenario({ apply: applyAll(dest), query: async (sql) => (await client.query(sql)).rows, close: () => dest.close() }, tableOf(naming));
      } finally {
        await client.end();
        await dest.close();
      }
    });
  }

  it('two PostgreSQL sinks applying the last end markers at once: the sweep runs once, with both seen', async () => {
    const schema = uniqueName('rsm_race').replace(/[^a-z0-9_]/g, '_');
    schemas.push(schema);
    const table = tableOf(NATIVE_NAMING);
    const [a, b] = [await openPostgres(services().databaseUrl, schema), await openPostgres(services().databaseUrl, schema)];
    const client = new pg.Client({ connectionString: services().databaseUrl });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${schema}"`);
      await a.ensureTable(table);
      await b.ensureTable(table);
      await applyAll(a)([item(0, null, 2n, upserts(table, [row(1, null), row(3, null)])), item(1, null, 2n, upserts(table, [row(2, null), row(4, null)]))]);
      await applyAll(a)([item(0, 2n, 3n, upserts(table, [row(1, GEN)]), [marker(table, 0, 2n, 'resync-begin')])]);
      await applyAll(b)([item(1, 2n, 3n, upserts(table, [row(2, GEN)]), [marker(table, 1, 2n, 'resync-begin')])]);
      // Each sink owns one partition; their last transactions run at once. Without the advisory lock each would
      // miss the other's uncommitted end marker under READ COMMITTED and neither would sweep (this test fails so).
      await Promise.all([applyAll(a)([item(0, 3n, 4n, [], [marker(table, 0, 3n, 'resync-end')])]), applyAll(b)([item(1, 3n, 4n, [], [marker(table, 1, 3n, 'resync-end')])])]);
      await expectSwept(async (sql) => (await client.query(sql)).rows, '_deleted');
    } finally {
      await client.end();
      await a.close();
      await b.close();
    }
  });
});
