import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { openDuckDb } from '../../src/sink/destinations/duckdb.ts';
import { openPostgres } from '../../src/sink/destinations/postgres.ts';
import type { Destination, SinkTable } from '../../src/sink/model.ts';
import { reduceBatch, type DecodedRecord } from '../../src/sink/reduce.ts';
import { loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startSink, type SinkRun } from '../../src/sink/sink.ts';
import { services, uniqueName } from './support/harness.ts';
import { TestTopics, readTable, type Row as WrittenRow } from './support/records.ts';

const table: SinkTable = {
  name: 'deal_history',
  kind: 'history',
  primaryKey: ['id'],
  columns: [
    { name: 'id', type: 'bigint' },
    { name: 'title', type: 'text' },
  ],
};
let offset = 0n;
const version = (id: number, title: string, ts: number, op = 'u'): DecodedRecord => ({
  table,
  offset: offset++,
  key: { id },
  value: { id, title, __op: op, __deleted: op === 'd', __source_ts_ms: ts, __synced_ms: ts },
});

type Row = { id: number; title: string; start: number; end: number; active: boolean; deleted: boolean };

/**
 * Type-2 history in real DuckDB and PostgreSQL: versions arriving over several batches (including a
 * same-second re-send and a delete) leave exactly one active row per live key, each `_end` one
 * millisecond before the next `_start`, and a deleted key's last version ending at the delete. Repeated
 * versions (in one batch, after newer ones, in later batches) and versions arriving after newer ones land
 * where they belong: the statements that failed on them (a duplicate primary key in DuckDB, ON CONFLICT
 * touching a row twice in PostgreSQL) never see one, and no stored newer version is dropped.
 */
describe.each(['duckdb', 'postgres'] as const)('history tables in %s', (kind) => {
  it('keeps consistent start/end/active across batches', async () => {
    const schema = uniqueName('hist');
    const path = join(mkdtempSync(join(tmpdir(), 'pcdc-h-')), 'h.duckdb');
    const dest: Destination = kind === 'duckdb' ? await openDuckDb(path) : await openPostgres(services().databaseUrl, schema);
    await dest.ensureTable(table);
    const batches = [
      [version(1, 'a', 1_000, 'r'), version(2, 'x', 1_000, 'r')],
      [version(1, 'b', 5_000), version(1, 'b-same-second', 5_000)],
      [version(1, 'c', 9_000), version(2, 'x', 6_000, 'd')],
      [version(1, 'c-again', 9_000), version(3, 'new', 9_500, 'c')],
    ];
    await applyAll(dest, batches);
    await dest.close();

    const rows = kind === 'duckdb' ? await duckRows(path) : await pgRows(schema);
    const byKey = (id: number) => rows.filter((r) => r.id === id).sort((a, b) => a.start - b.start);
    const END = Date.parse('9999-12-31T23:59:59.999Z');
    expect(byKey(1).map((r) => [r.title, r.start, r.end, r.active])).toEqual([
      ['a', 1_000, 4_999, false],
      ['b-same-second', 5_000, 8_999, false],
      ['c-again', 9_000, END, true],
    ]);
    expect(byKey(2).map((r) => [r.start, r.end, r.active, r.deleted])).toEqual([[1_000, 6_000, false, true]]);
    expect(byKey(3).map((r) => [r.title, r.active])).toEqual([['new', true]]);
    for (const id of [1, 3]) expect(byKey(id).filter((r) => r.active)).toHaveLength(1);
  });

  it('repeated and out-of-order versions keep the chain', async () => {
    const schema = uniqueName('hist');
    const path = join(mkdtempSync(join(tmpdir(), 'pcdc-h-')), 'h.duckdb');
    const dest: Destination = kind === 'duckdb' ? await openDuckDb(path) : await openPostgres(services().databaseUrl, schema);
    await dest.ensureTable(table);
    const T = Date.parse('2026-09-28T09:10:22Z');
    await applyAll(dest, [
      // a repeated version after a newer one, within one batch
      [version(104, 'a', T), version(104, 'b', T + 5_000), version(104, 'a', T), version(7, 'x', T)],
      // a late repeat of an old version, and a version older than the stored newest
      [version(104, 'a', T), version(104, 'a-late', T + 2_000), version(7, 'x', T + 8_000, 'd')],
      // repeats of a delete and of the deleted version; the key comes back
      [version(7, 'x', T), version(7, 'x', T + 8_000, 'd'), version(104, 'b', T + 5_000), version(7, 'y', T + 9_000, 'c')],
    ]);
    await dest.close();

    const rows = kind === 'duckdb' ? await duckRows(path) : await pgRows(schema);
    const chain = (id: number) =>
      rows
        .filter((r) => r.id === id)
        .sort((a, b) => a.start - b.start)
        .map((r) => [r.title, r.start - T, r.end === END ? 'open' : r.end - T, r.active, r.deleted]);
    const END = Date.parse('9999-12-31T23:59:59.999Z');
    expect(chain(104)).toEqual([
      ['a', 0, 1_999, false, false],
      ['a-late', 2_000, 4_999, false, false],
      ['b', 5_000, 'open', true, false],
    ]);
    expect(chain(7)).toEqual([
      ['x', 0, 8_000, false, true],
      ['y', 9_000, 'open', true, false],
    ]);
  });
});

/**
 * The same through a real topic: a history topic (value schema attribute "pipedrive.cdc.kind": "history")
 * gets repeated versions (in one transaction after a newer one, in later transactions), a version older
 * than stored ones, a repeated delete and a key coming back, written by a plain transactional producer.
 * Both sinks keep going and end with the type-2 chain the records define.
 */
describe('a history topic with repeated and out-of-order records, into DuckDB and PostgreSQL', () => {
  it('both sinks keep going and hold the right chains', async () => {
    const prefix = uniqueName('hdup');
    const topics = await TestTopics.create(prefix, [{ name: 'deal_history', history: true }], 2);
    const schema = uniqueName('hdup');
    const duckdb = join(mkdtempSync(join(tmpdir(), 'pcdc-hdup-')), 'sink.duckdb');
    const T = Date.parse('2026-09-28T09:10:22Z');
    const r = (id: number, title: string, dt: number, op: WrittenRow['op'] = 'u'): WrittenRow => ({ id, title, op, ts: T + dt });
    const sinks: SinkRun[] = [];
    try {
      await topics.write('deal_history', [r(104, 'a', 0, 'r'), r(104, 'b', 5_000), r(104, 'a', 0, 'r'), r(105, 'x', 0, 'r'), r(106, 'p', 0, 'c')]);
      await topics.write('deal_history', [r(105, 'x', 8_000, 'd'), r(104, 'a', 0, 'r'), r(106, 'q', 3_000)]);
      for (const destination of ['duckdb', 'postgres'] as const) {
        const env = {
          KAFKA_BROKERS: services().brokers.join(','),
          SCHEMA_REGISTRY_URL: services().registryUrl,
          TOPIC_PREFIX: prefix,
          CONNECTOR_NAME: prefix,
          SINK_DESTINATION: destination,
          DUCKDB_PATH: duckdb,
          DATABASE_URL: services().databaseUrl,
          DATABASE_SCHEMA: schema,
        };
        sinks.push(await startSink(loadSinkConfig(env), { metrics: createMetrics('sink'), log: silentLogger }));
      }
      for (const s of sinks) await s.caughtUp(60_000);

      // Later: a version older than stored ones, repeats of a stored version, of a delete and of the deleted version, a key coming back.
      await topics.write('deal_history', [r(104, 'a-late', 2_000), r(105, 'x', 0, 'r'), r(105, 'x', 8_000, 'd'), r(106, 'p', 0, 'c'), r(105, 'y', 9_000, 'c')]);
      await topics.write('deal_history', [r(104, 'b', 5_000), r(106, 'q', 3_000)]);
      for (const s of sinks) await s.caughtUp(60_000);
      for (const s of sinks) expect(await Promise.race([s.failed.catch((e: Error) => e.message), new Promise((ok) => setTimeout(() => ok('running'), 100))])).toBe('running');
    } finally {
      for (const s of sinks) await s.stop();
      await topics.close();
    }

    for (const where of [{ duckdb }, { postgres: services().databaseUrl, schema }]) {
      const rows = (await readTable(where, 'deal_history')).map(normalise);
      const END = Date.parse('9999-12-31T23:59:59.999Z');
      const chain = (id: number) =>
        rows
          .filter((x) => x.id === id)
          .sort((a, b) => a.start - b.start)
          .map((x) => [x.title, x.start - T, x.end === END ? 'open' : x.end - T, x.active, x.deleted]);
      const name = 'duckdb' in where ? 'duckdb' : 'postgres';
      expect(chain(104), name).toEqual([
        ['a', 0, 1_999, false, false],
        ['a-late', 2_000, 4_999, false, false],
        ['b', 5_000, 'open', true, false],
      ]);
      expect(chain(105), name).toEqual([
        ['x', 0, 8_000, false, true],
        ['y', 9_000, 'open', true, false],
      ]);
      expect(chain(106), name).toEqual([
        ['p', 0, 2_999, false, false],
        ['q', 3_000, 'open', true, false],
      ]);
    }
  });
});

/** One destination transaction per batch, each moving partition t/0's offset on from the last. */
async function applyAll(dest: Destination, batches: DecodedRecord[][]): Promise<void> {
  let next: bigint | null = null;
  for (const b of batches) {
    const to: bigint = (next ?? 0n) + BigInt(b.length);
    const r = await dest.apply(reduceBatch(b, new Date()), { topic: 't', partition: 0, expected: next, next: to });
    expect(r).toEqual({ applied: true });
    next = to;
  }
}

async function duckRows(path: string): Promise<Row[]> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  const r = (await conn.runAndReadAll('SELECT * FROM deal_history')).getRowObjectsJS() as Array<Record<string, unknown>>;
  conn.closeSync();
  instance.closeSync();
  return r.map(normalise);
}

async function pgRows(schema: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: services().databaseUrl });
  await client.connect();
  try {
    return (await client.query(`SELECT * FROM "${schema}".deal_history`)).rows.map(normalise);
  } finally {
    await client.end();
  }
}

function normalise(r: Record<string, unknown>): Row {
  return {
    id: Number(r.id),
    title: String(r.title),
    start: (r._start as Date).getTime(),
    end: (r._end as Date).getTime(),
    active: r._active === true,
    deleted: r._deleted === true,
  };
}
