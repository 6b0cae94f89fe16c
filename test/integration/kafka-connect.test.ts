import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { debeziumJdbcSinkConfig, startKafkaConnect, type LocalConnect } from '../../src/infra/kafka-connect.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { startSink } from '../../src/sink/sink.ts';
import { dropPostgresSchemas } from './support/both-sinks.ts';
import { pipelineEnv, readTopic, services, uniqueName } from './support/harness.ts';
import { api } from './support/pipedrive.ts';
import { compareHistory, compareLatest, readTable } from './support/connect-compare.ts';

const HOUR = 3_600_000;
const LATEST = ['deal', 'person', 'organization'] as const;
const TABLES = [...LATEST, 'deal_history'];

/**
 * A real Kafka Connect worker (4.4.0, standalone) with Debezium's JDBC sink and Apicurio's Avro converter,
 * configured as docs/CONNECT.md says, consumes deal, person, organization and deal_history into one
 * PostgreSQL schema while the project's own sink fills another from the same topics. The account changes
 * between two producer runs (renames, a won deal, deletes of a deal, a person and an organization) and the
 * worker reads the second run live. The tables must be equal: latest state with deletes applied (the JDBC
 * sink drops a row on its tombstone, the project's sink flags it), and every history version kept (the
 * history key carries the version time). Anchored to the simulator's store too, so that both sinks being
 * wrong the same way fails.
 */
describe('Kafka Connect with the Debezium JDBC sink equals the project sink', () => {
  let sim: Simulator;
  let connect: LocalConnect | undefined;
  const prefix = uniqueName('kconn');
  const ownSchema = `${prefix}_own`;
  const connectSchema = `${prefix}_connect`;
  const connector = `${prefix}-jdbc`;
  let renamed: { id: number; titles: string[] };
  const deleted: Record<(typeof LATEST)[number], number> = { deal: 0, person: 0, organization: 0 };
  let db: pg.Client;

  beforeAll(async () => {
    const worker = startKafkaConnect({ brokers: services().brokers, registryUrl: services().registryUrl });
    worker.catch(() => {}); // awaited below; a failed start must not be an unhandled rejection meanwhile
    sim = await startSimulator({ seed: 21, deals: 20, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 2_000 } });
    const env = pipelineEnv(sim, prefix, { TABLES: LATEST.join(','), HISTORY_REBUILD: 'all', METRICS_PORT: '0', DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: ownSchema });
    const produce = async () => {
      await startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: () => undefined, untilCaughtUp: true }).done;
    };
    await produce();

    db = new pg.Client({ connectionString: services().databaseUrl });
    await db.connect();
    await db.query(`CREATE SCHEMA "${connectSchema}"`);
    connect = await worker;
    await connect.createConnector(debeziumJdbcSinkConfig({ name: connector, topicPrefix: prefix, tables: TABLES, databaseUrl: services().databaseUrl, schema: connectSchema }));

    // Changes the worker reads live: two renames (three versions), a won deal, and one delete per table.
    const call = (method: string, path: string, body?: unknown) => api(sim.baseUrl, sim.token, method, path, body);
    const live = <T extends { id: number; deletedAtMs: number | null }>(rows: readonly T[]) => [...rows].filter((r) => r.deletedAtMs === null).sort((a, b) => a.id - b.id);
    const deals = live(sim.store.deals.table.all()).filter((r) => !r.data.is_deleted && r.data.status === 'open');
    const target = deals.find((r) => r.data.stage_change_time === null)!;
    renamed = { id: target.id, titles: [target.data.title, 'Renamed once', 'Renamed twice'] };
    sim.clock.advance(60_000);
    await call('PATCH', `/api/v2/deals/${target.id}`, { title: 'Renamed once' });
    sim.clock.advance(60_000);
    await call('PATCH', `/api/v2/deals/${target.id}`, { title: 'Renamed twice' });
    const others = deals.filter((r) => r.id !== target.id);
    await call('PATCH', `/api/v2/deals/${others[0]!.id}`, { status: 'won' });
    deleted.deal = others[1]!.id;
    await call('DELETE', `/api/v2/deals/${deleted.deal}`);
    const persons = live(sim.store.persons.all());
    await call('PATCH', `/api/v2/persons/${persons[0]!.id}`, { name: 'Person renamed' });
    deleted.person = persons[1]!.id;
    await call('DELETE', `/api/v2/persons/${deleted.person}`);
    const orgs = live(sim.store.organizations.all());
    await call('PATCH', `/api/v2/organizations/${orgs[0]!.id}`, { name: 'Organization renamed' });
    deleted.organization = orgs[1]!.id;
    await call('DELETE', `/api/v2/organizations/${deleted.organization}`);
    sim.clock.advance(7 * HOUR); // v2 lists hide deleted persons and organizations: the 6-hourly id scan finds them
    await produce();

    const sink = await startSink(loadSinkConfig({ ...env, SINK_DESTINATION: 'postgres' }), { metrics: createMetrics('sink'), log: silentLogger });
    await sink.caughtUp(120_000);
    await sink.stop();

    // Connect has applied a topic once its committed offset is past the topic's last record.
    const targets = new Map<string, Map<number, bigint>>();
    for (const t of TABLES) {
      const ends = new Map<number, bigint>();
      for (const r of await readTopic(`${prefix}.${t}`, { decode: false })) ends.set(r.partition, r.offset + 1n > (ends.get(r.partition) ?? 0n) ? r.offset + 1n : ends.get(r.partition)!);
      targets.set(`${prefix}.${t}`, ends);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const failed = await connect.failure(connector);
      if (failed) throw failed;
      const at = await connect.sinkOffsets(connector);
      const behind = [...targets].flatMap(([topic, ends]) => [...ends].filter(([p, end]) => (at.get(topic)?.get(p) ?? 0n) < end).map(([p, end]) => `${topic}[${p}] at ${at.get(topic)?.get(p) ?? 'none'} of ${end}`));
      if (behind.length === 0) break;
      if (Date.now() > deadline) throw new Error(`Kafka Connect has not applied every record after 60 s: ${behind.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 240_000);

  afterAll(async () => {
    await connect?.stop();
    await sim?.close();
    await db?.end();
    await dropPostgresSchemas(ownSchema, connectSchema);
  });

  for (const table of LATEST) {
    it(`${table}: the same live rows and columns, the deleted one gone`, async () => {
      const own = await readTable(db, ownSchema, table);
      const theirs = await readTable(db, connectSchema, table);
      const { ownLive, connectRows } = compareLatest(own, theirs, table);
      const store = { deal: sim.store.deals.table.all().filter((r) => !r.data.is_deleted), person: sim.store.persons.all(), organization: sim.store.organizations.all() }[table] as Array<{ id: number; deletedAtMs: number | null }>;
      const liveIds = store.filter((r) => r.deletedAtMs === null).map((r) => r.id).sort((a, b) => a - b);
      expect(connectRows.map((r) => Number(r.id)).sort((a, b) => a - b), 'the JDBC sink holds exactly the live rows of the store').toEqual(liveIds);
      expect(ownLive).toBe(liveIds.length);
      expect(liveIds).not.toContain(deleted[table]);
      expect(own.rows.some((r) => Number(r.id) === deleted[table] && r._deleted === true), 'the project sink flags the deleted row').toBe(true);
    });
  }

  it('deal_history: every version, delete records included, equal to the project sink history', async () => {
    const own = await readTable(db, ownSchema, 'deal_history');
    const theirs = await readTable(db, connectSchema, 'deal_history');
    const { versions, deletes } = compareHistory(own, theirs, 'deal_history');
    const titles = theirs.rows.filter((r) => Number(r.id) === renamed.id && r.__op !== 'd').sort((a, b) => Number(a.__source_ts_ms) - Number(b.__source_ts_ms)).map((r) => r.title);
    expect(titles, 'the renamed deal keeps its three versions').toEqual(renamed.titles);
    expect(deletes).toContain(deleted.deal);
    expect(versions).toBeGreaterThan(sim.store.deals.table.all().length);
  });
});
