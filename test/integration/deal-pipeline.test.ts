import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deal } from '../../src/catalog/tables/deal.ts';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSink } from '../../src/sink/sink.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { canonicalRows } from './support/compare.ts';
import { pipelineEnv, readTopic, services, uniqueName } from './support/harness.ts';
import { api, listAllDeals } from './support/pipedrive.ts';

/**
 * End to end on real services: deals created, updated (twice within one second) and deleted through the
 * local Pipedrive's HTTP API flow through Kafka into DuckDB and PostgreSQL, field by field.
 */
describe('deals: local Pipedrive → Kafka → DuckDB and PostgreSQL', () => {
  let sim: Simulator;
  const prefix = uniqueName('e2e');
  const pgSchema = uniqueName('e2e');
  const duckPath = join(mkdtempSync(join(tmpdir(), 'pcdc-')), 'sink.duckdb');
  let deletedId = 0;
  let twiceId = 0;

  const env = () => ({
    ...pipelineEnv(sim, prefix),
    TABLES: 'deal',
    HISTORY_REBUILD: 'changes',
    TOPIC_PARTITIONS: '2',
    DATABASE_URL: services().databaseUrl,
    DATABASE_SCHEMA: pgSchema,
    DUCKDB_PATH: duckPath,
  });

  beforeAll(async () => {
    sim = await startSimulator({ seed: 7, deals: 25 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  async function produceAll() {
    const run = startProducer(loadProducerConfig(env()), { metrics: createMetrics(), log: silentLogger, untilCaughtUp: true });
    await run.done;
  }

  it('creates, updates within one second, deletes, and both sinks equal the source', async () => {
    await produceAll(); // the seeded snapshot (op r)

    sim.clock.freeze(); // the create and two updates all within one second, with polls in between
    const created = await api(sim.baseUrl, sim.token, 'POST', '/api/v2/deals', { title: 'New deal', value: 1200.5, currency: 'EUR' });
    twiceId = Number(created.id);
    await produceAll();
    await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/deals/${twiceId}`, { title: 'First title' });
    await produceAll(); // a poll between the two same-second updates
    await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/deals/${twiceId}`, { title: 'Second title', value: 99 });
    sim.clock.unfreeze();
    sim.clock.advance(1000);
    deletedId = 3;
    await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/deals/${deletedId}`);
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/5', { status: 'won' });
    await produceAll();

    const source = canonicalRows(deal, await listAllDeals(sim.baseUrl, sim.token));
    expect(source.get(twiceId)?.title).toBe('Second title');
    expect(source.get(deletedId)?.is_deleted).toBe(true);

    for (const destination of ['duckdb', 'postgres'] as const) {
      const sink = await startSink(loadSinkConfig({ ...env(), SINK_DESTINATION: destination }), { metrics: createMetrics(), log: silentLogger });
      await sink.caughtUp();
      await sink.stop();
      const rows = destination === 'duckdb' ? await duckRows(duckPath) : await pgRows(services().databaseUrl, pgSchema);
      const sinkRows = canonicalRows(deal, rows);
      expect(sinkRows.size, destination).toBe(source.size);
      for (const [id, expected] of source) expect(sinkRows.get(id), `${destination} deal ${id}`).toEqual(expected);
      const gone = rows.find((r) => Number(r.id) === deletedId)!;
      expect(gone._deleted, destination).toBe(true);
      expect(rows.filter((r) => r._deleted === true).map((r) => Number(r.id)), destination).toEqual([deletedId]);
    }
  });

  it('publishes Avro a plain consumer decodes: keys {id}, deletes as op d then a tombstone', async () => {
    const records = await readTopic(`${prefix}.deal`);
    expect(records.length).toBeGreaterThan(25);
    for (const r of records) expect(Object.keys(r.key as object)).toEqual(['id']);
    const ofDeleted = records.filter((r) => (r.key as { id: number }).id === deletedId);
    const last2 = ofDeleted.slice(-2);
    expect((last2[0]!.value as { __op: string; __deleted: boolean }).__op).toBe('d');
    expect((last2[0]!.value as { __deleted: boolean }).__deleted).toBe(true);
    expect(last2[1]!.value).toBeNull();
    // Both same-second versions were published, each once.
    const titles = records
      .filter((r) => (r.key as { id: number }).id === twiceId && r.value)
      .map((r) => (r.value as { title: string }).title);
    expect(titles).toEqual(['New deal', 'First title', 'Second title']);
  });
});

async function duckRows(path: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  const r = await conn.runAndReadAll('SELECT * FROM deal ORDER BY id');
  const rows = r.getRowObjectsJS() as Array<Record<string, unknown>>;
  conn.closeSync();
  instance.closeSync();
  return rows;
}

async function pgRows(url: string, schema: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(`SELECT * FROM "${schema}".deal ORDER BY id`)).rows;
  } finally {
    await client.end();
  }
}
