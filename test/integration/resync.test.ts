import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSink } from '../../src/sink/sink.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { dropPostgresSchemas } from './support/both-sinks.ts';
import { parseJsonLine, pipelineEnv, readTopic, runCli, services, uniqueName } from './support/harness.ts';

type Row = Record<string, unknown>;
const DAY_MS = 86_400_000;

/** Where a sink writes: DuckDB or PostgreSQL, native or Fivetran column names. */
interface SinkTarget {
  readonly destination: 'duckdb' | 'postgres';
  readonly naming: 'native' | 'fivetran';
  readonly env: Record<string, string>;
}

function targets(dir: string, name: string, schemas: string[], namings: ReadonlyArray<'native' | 'fivetran'>): SinkTarget[] {
  mkdirSync(dir, { recursive: true });
  return namings.flatMap((naming): SinkTarget[] => {
    const schema = `${name}_${naming}`.replace(/[^a-z0-9_]/g, '_');
    schemas.push(schema);
    return [
      { destination: 'duckdb', naming, env: { SINK_DESTINATION: 'duckdb', SINK_NAMING: naming, DUCKDB_PATH: join(dir, `${naming}.duckdb`), SINK_GROUP_ID: `${name}-duck-${naming}` } },
      { destination: 'postgres', naming, env: { SINK_DESTINATION: 'postgres', SINK_NAMING: naming, DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: schema, SINK_GROUP_ID: `${name}-pg-${naming}` } },
    ];
  });
}

/** Each sink until it caught up with the topics. */
async function runSinks(env: Record<string, string>, sinks: readonly SinkTarget[]): Promise<void> {
  for (const s of sinks) {
    const sink = await startSink(loadSinkConfig({ ...env, ...s.env }), { metrics: createMetrics('sink'), log: silentLogger });
    await sink.caughtUp(120_000);
    await sink.stop();
  }
}

/** The sink's deal rows: id, title, whether deleted, `_op`, `_resync`. */
async function sinkDeals(s: SinkTarget): Promise<Array<{ id: number; title: unknown; deleted: boolean; op: unknown; resync: number | null }>> {
  const deleted = s.naming === 'fivetran' ? '_fivetran_deleted' : '_deleted';
  const sql = `SELECT id, title, ${deleted} AS deleted, _op, _resync FROM deal ORDER BY id`;
  let rows: Row[];
  if (s.destination === 'duckdb') {
    const instance = await DuckDBInstance.create(s.env.DUCKDB_PATH!, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    try {
      rows = (await conn.runAndReadAll(sql)).getRowObjectsJS() as Row[];
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  } else {
    const client = new pg.Client({ connectionString: services().databaseUrl });
    await client.connect();
    try {
      await client.query(`SET search_path TO "${s.env.DATABASE_SCHEMA}"`);
      rows = (await client.query(sql)).rows as Row[];
    } finally {
      await client.end();
    }
  }
  return rows.map((r) => ({ id: Number(r.id), title: r.title, deleted: r.deleted === true, op: r._op, resync: r._resync === null ? null : Number(r._resync) }));
}

/** The deal topic with headers: records as written, keys and values decoded through the registry. */
async function dealRecords(topic: string): Promise<Array<{ partition: number; key: Row | null; value: Row | null; headers: Record<string, string> }>> {
  const raw = await readTopic(topic, { decode: false });
  const registry = new SchemaRegistry({ host: services().registryUrl });
  const out = [];
  for (const r of raw) {
    out.push({
      partition: r.partition,
      key: r.key ? ((await registry.decode(r.key as Buffer)) as Row) : null,
      value: r.value ? ((await registry.decode(r.value as Buffer)) as Row) : null,
      headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, v.toString('utf8')])),
    });
  }
  return out;
}

/** The simulator's deals: live (not deleted; archived ones included) by id → title. */
function liveDeals(sim: Simulator): Map<number, string> {
  return new Map(sim.store.deals.table.all().filter((r) => r.deletedAtMs === null).map((r) => [r.id, r.data.title]));
}

/**
 * Deletes `n` live deals, changes one title, then moves the simulator's clock past Pipedrive's 30-day purge:
 * the deleted deals vanish from every list (no `is_deleted` version is ever listed to a connector that was
 * stopped meanwhile). Returns the deleted ids and the renamed deal.
 */
function purgeWhileStopped(sim: Simulator, n: number): { purged: number[]; renamed: number } {
  const live = [...liveDeals(sim).keys()];
  const purged = live.slice(3, 3 + n);
  for (const id of purged) expect(sim.store.deals.delete(id)).toBe(true);
  const renamed = live[0]!;
  sim.store.deals.update(renamed, { title: 'renamed while stopped' });
  sim.clock.advance(31 * DAY_MS);
  sim.store.deals.purge();
  for (const id of purged) expect(sim.store.deals.table.all().some((r) => r.id === id)).toBe(false);
  return { purged, renamed };
}

/** Every sink equals the simulator: the live deals with their titles, the purged ones soft-deleted by the re-sync. */
async function expectResynced(sinks: readonly SinkTarget[], sim: Simulator, purged: readonly number[], generation: number): Promise<void> {
  const live = liveDeals(sim);
  for (const s of sinks) {
    const rows = await sinkDeals(s);
    const what = `${s.destination} (${s.naming})`;
    expect(new Map(rows.filter((r) => !r.deleted).map((r) => [r.id, r.title])), `${what}: live deals`).toEqual(live);
    const gone = rows.filter((r) => purged.includes(r.id));
    // Soft-deleted: by the delete records the re-sync's completion published (and the sink's sweep).
    expect(gone.map((r) => [r.id, r.deleted, r.op]), `${what}: purged deals`).toEqual(purged.map((id) => [id, true, 'd']));
    expect(rows.filter((r) => live.has(r.id)).every((r) => r.resync === generation), `${what}: live deals written by the re-sync`).toBe(true);
  }
}

describe('re-sync', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcdc-resync-'));
  const schemas: string[] = [];
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ seed: 21, deals: 1200, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 2_000 } });
  }, 120_000);
  afterAll(async () => {
    await sim?.close();
    await dropPostgresSchemas(...schemas);
  });

  it('of deal after the connector was stopped past the 30-day purge: purged deals end soft-deleted in DuckDB and PostgreSQL, both namings', async () => {
    const prefix = uniqueName('rsp');
    const env = { ...pipelineEnv(sim, prefix), TABLES: 'deal', HISTORY_REBUILD: 'off', TOPIC_PARTITIONS: '2' };
    const sinks = targets(join(dir, 'purge'), prefix, schemas, ['native', 'fivetran']);
    const first = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: () => undefined, untilCaughtUp: true });
    await first.done;
    await runSinks(env, sinks);

    const { purged, renamed } = purgeWhileStopped(sim, 4);
    const lines: Array<Record<string, unknown>> = [];
    const second = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: (event, fields) => void lines.push({ event, ...fields }), untilCaughtUp: true });
    await expect(second.resync(['person'])).rejects.toThrow(/table "person" cannot be re-synced .*its tables: deal/);
    const [result] = await Promise.all([second.resync(['deal']), second.done]);
    expect(result.tables).toEqual(['deal']);
    expect(lines.filter((l) => l.event === 'resync-completed').map((l) => l.generation)).toEqual([result.generation]);
    await runSinks(env, sinks);

    await expectResynced(sinks, sim, purged, result.generation);
    expect(liveDeals(sim).get(renamed)).toBe('renamed while stopped');
    // The topic itself equals the source: the completion published one delete for each purged deal, and
    // none for any other (consumers that do not read markers, sinks started after compaction removed them).
    const records = await dealRecords(`${prefix}.deal`);
    const deletes = records.filter((r) => r.value?.__op === 'd').map((r) => Number(r.value!.id));
    expect(deletes.sort((a, b) => a - b)).toEqual([...purged].sort((a, b) => a - b));
    expect(lines.find((l) => l.event === 'resync-completed')?.deletes).toBe(purged.length);
    const markers = records.filter((r) => r.headers['pipedrive-cdc.marker'] !== undefined);
    expect(markers.map((r) => [r.headers['pipedrive-cdc.marker'], r.partition, r.value, r.key, r.headers['pipedrive-cdc.partitions'], Number(r.headers['pipedrive-cdc.resync'])]).sort()).toEqual(
      [['resync-begin', 0], ['resync-begin', 1], ['resync-end', 0], ['resync-end', 1]].map(([m, p]) => [m, p, null, { id: -1 }, '2', result.generation]).sort(),
    );
  }, 600_000);

  it('killed (SIGKILL) in the middle of a re-sync, restarted: it completes, every deal published once by the re-sync', async () => {
    const prefix = uniqueName('rsk');
    const env = (extra: Record<string, string> = {}) => ({
      ...pipelineEnv(sim, prefix),
      TABLES: 'deal',
      HISTORY_REBUILD: 'off',
      TOPIC_PARTITIONS: '2',
      METRICS_PORT: '0',
      PIPEDRIVE_CDC_FAILPOINT: '',
      ...extra,
    });
    const sinks = targets(join(dir, 'kill'), prefix, schemas, ['native']);
    const first = runCli(['run', '--once'], env());
    expect(await first.exit, first.lines.join('\n')).toBe(0);
    await runSinks(env(), sinks);

    const { purged } = purgeWhileStopped(sim, 3);
    // Killed after its third transaction: the begin markers and two batches of the re-import committed.
    const killed = runCli(['run', '--once', '--resync', 'deal'], env({ PIPEDRIVE_CDC_FAILPOINT: 'publish.after-commit:3' }));
    expect(await killed.exit, killed.lines.join('\n')).toBe('SIGKILL');
    const started = killed.lines.map(parseJsonLine).find((l) => l?.event === 'resync-started');
    const generation = Number(started?.generation);
    expect(generation).toBeGreaterThan(0);
    expect(killed.lines.map(parseJsonLine).some((l) => l?.event === 'resync-completed')).toBe(false);

    // Restarted without --resync: the state topic says a re-sync is in progress, and it resumes there.
    const resumed = runCli(['run', '--once'], env());
    expect(await resumed.exit, resumed.lines.join('\n')).toBe(0);
    const completed = resumed.lines.map(parseJsonLine).filter((l) => l?.event === 'resync-completed');
    expect(completed.map((l) => l!.generation)).toEqual([generation]);
    expect(resumed.lines.map(parseJsonLine).some((l) => l?.event === 'resync-started')).toBe(false);

    const records = await dealRecords(`${prefix}.deal`);
    const ofResync = records.filter((r) => r.headers['pipedrive-cdc.resync'] === String(generation) && r.headers['pipedrive-cdc.marker'] === undefined && r.value !== null && r.value.__op !== 'd');
    // The deals purged before the crash are found at completion, from the topic: one delete each.
    expect(records.filter((r) => r.value?.__op === 'd').map((r) => Number(r.value!.id)).sort((a, b) => a - b)).toEqual([...purged].sort((a, b) => a - b));
    const ids = ofResync.map((r) => Number(r.value!.id));
    // Each live deal exactly once (nothing published twice across the crash), and nothing else.
    expect(ids.length).toBe(new Set(ids).size);
    expect(new Set(ids)).toEqual(new Set(liveDeals(sim).keys()));
    expect(ofResync.every((r) => r.value!.__op === 'r')).toBe(true);
    const markers = records.filter((r) => r.headers['pipedrive-cdc.marker'] !== undefined).map((r) => `${r.headers['pipedrive-cdc.marker']}@${r.partition}`);
    expect(markers.sort()).toEqual(['resync-begin@0', 'resync-begin@1', 'resync-end@0', 'resync-end@1']);

    await runSinks(env(), sinks);
    await expectResynced(sinks, sim, purged, generation);

    // A table the connector does not sync: refused, naming the ones it does.
    const refused = runCli(['run', '--once', '--resync', 'deal,person'], env());
    expect(await refused.exit).toBe(1);
    expect(refused.lines.join('\n')).toContain('table "person" cannot be re-synced (the connector does not sync it (TABLES)); its tables: deal (or "all")');
  }, 600_000);
});
