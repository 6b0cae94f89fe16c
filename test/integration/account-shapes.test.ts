import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { loadSinkConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startSink } from '../../src/sink/sink.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, runCli, runOnce, services, uniqueName, type ConsumedRecord } from './support/harness.ts';
import { api } from './support/pipedrive.ts';

type Value = Record<string, unknown> & { id: number; __op: string };
const HOUR = 3_600_000;

/**
 * Account shapes real companies have: archived deals, a plan without one endpoint, a list that suddenly
 * lacks half its rows; and topics made to survive a broker loss.
 */
describe('real account shapes', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  const once = runOnce;

  it('an archived deal stays, with is_archived true — also through the daily id scan — and comes back unarchived', { timeout: 120_000 }, async () => {
    sim = await startSimulator({ seed: 41, deals: 60, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    const prefix = uniqueName('archived');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'off', METRICS_PORT: '0' });
    expect((await once(env)).code).toBe(0);
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/5', { is_archived: true });
    sim.clock.advance(25 * HOUR); // the daily id scan is due: deal 5 is no longer in /api/v2/deals
    const second = await once(env);
    expect(second.code, second.lines.slice(-10).join('\n')).toBe(0);
    const after = lastOf(await readTopic(`${prefix}.deal`), 5);
    expect(after).toMatchObject({ is_archived: true, __deleted: false, __op: 'u' });
    expect(after?.archive_time).not.toBeNull();

    sim.clock.advance(60_000);
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/5', { is_archived: false });
    expect((await once(env)).code).toBe(0);
    const records = await readTopic(`${prefix}.deal`);
    expect(lastOf(records, 5)).toMatchObject({ is_archived: false, __deleted: false });
    expect(records.filter((r) => (r.key as Value).id === 5 && r.value === null), 'tombstones of deal 5').toEqual([]);
  });

  it('a 402 on one table: the others sync completely, the table is named in the logs and the metrics', { timeout: 120_000 }, async () => {
    sim = await startSimulator({ seed: 42, deals: 120, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    sim.faults.add({ kind: 'status', status: 402, path: '/api/v2/deals/installments' });
    const prefix = uniqueName('plan');
    const run = runCli(['run'], pipelineEnv(sim, prefix, { TABLES: 'deal,person,installment', HISTORY_REBUILD: 'off', METRICS_PORT: '0', POLL_INTERVAL_MS: '200' }));
    try {
      const failed = await run.waitForLine((l) => l.event === 'table-failed');
      expect(failed.table).toBe('installment');
      expect(String(failed.error)).toContain("402 payment required — the company's Pipedrive plan does not include this endpoint");
      const metricsUrl = String((await run.waitForLine((l) => l.event === 'metrics')).url);
      await run.waitForLine((l) => l.event === 'batch-committed' && l.table === 'person');
      const metrics = await (await fetch(metricsUrl)).text();
      expect(metrics).toMatch(new RegExp(`pipedrive_cdc_table_failing\\{connector="${prefix}",table="installment"\\} 1`));
      expect(run.child.exitCode, 'still running').toBeNull();
    } finally {
      run.child.kill('SIGTERM');
      await run.exit;
    }
    expect(new Set((await readTopic(`${prefix}.deal`)).map((r) => (r.key as Value).id)).size).toBe(120);
    expect(new Set((await readTopic(`${prefix}.person`)).map((r) => (r.key as Value).id)).size).toBe(sim.store.persons.all().length);
    // `run --once` reports it and exits 1.
    const report = await once(pipelineEnv(sim, prefix, { TABLES: 'deal,installment', METRICS_PORT: '0' }));
    expect(report.code).toBe(1);
    expect(report.lines.join('\n')).toContain('1 table(s) could not be synced: installment');
  });

  it('half of the persons vanish from the list at once: the guard deletes nothing until confirmed', { timeout: 120_000 }, async () => {
    sim = await startSimulator({ seed: 43, deals: 100, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    const prefix = uniqueName('guard');
    const env = pipelineEnv(sim, prefix, { TABLES: 'person', METRICS_PORT: '0' });
    expect((await once(env)).code).toBe(0);
    const ids = sim.store.persons.all().map((p) => p.id);
    expect(ids.length).toBeGreaterThanOrEqual(40);
    for (const id of ids.filter((_, i) => i % 2 === 0)) await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/persons/${id}`);
    sim.clock.advance(7 * HOUR); // the 6-hourly id scan is due
    const refused = await once(env);
    expect(refused.code).toBe(0);
    const line = refused.events.find((l) => l.event === 'mass-delete-refused');
    expect(line).toMatchObject({ table: 'person', wouldDelete: Math.ceil(ids.length / 2), of: ids.length });
    expect(String(line?.what)).toContain('set DELETE_GUARD_CONFIRM=person and restart');
    expect((await readTopic(`${prefix}.person`)).filter((r) => (r.value as Value | null)?.__op === 'd')).toEqual([]);

    sim.clock.advance(7 * HOUR);
    const confirmed = await once({ ...env, DELETE_GUARD_CONFIRM: 'person' });
    expect(confirmed.code).toBe(0);
    const deletes = (await readTopic(`${prefix}.person`)).filter((r) => (r.value as Value | null)?.__op === 'd');
    expect(new Set(deletes.map((r) => (r.key as Value).id))).toEqual(new Set(ids.filter((_, i) => i % 2 === 0)));
  });

  it('a number custom field deleted in Pipedrive: the producer goes on, the column keeps its type (null from then on)', { timeout: 120_000 }, async () => {
    sim = await startSimulator({ seed: 45, deals: 20, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    const prefix = uniqueName('fielddel');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'off', METRICS_PORT: '0' });
    const field = await api(sim.baseUrl, sim.token, 'POST', '/api/v2/dealFields', { field_name: 'Seats bought', field_type: 'double' });
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/3', { custom_fields: { [String(field.field_code)]: 12.5 } });
    expect((await once(env)).code).toBe(0);
    expect(lastOf(await readTopic(`${prefix}.deal`), 3)?.seats_bought).toBe(12.5);

    await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/dealFields/${String(field.field_code)}`);
    sim.clock.advance(60_000);
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/3', { title: 'after the field went' });
    const after = await once(env);
    expect(after.code, after.lines.slice(-10).join('\n')).toBe(0);
    const last = lastOf(await readTopic(`${prefix}.deal`), 3);
    expect(last).toMatchObject({ title: 'after the field went', seats_bought: null });
    // The subject's newest value schema still types the column as a number.
    const schema = (await (await fetch(`${services().registryUrl}/subjects/${prefix}.deal-value/versions/latest`)).json()) as { schema: string };
    const column = (JSON.parse(schema.schema) as { fields: Array<{ name: string; type: unknown }> }).fields.find((f) => f.name === 'seats_bought');
    expect(column?.type).toEqual(['null', 'double']);
  });

  it('persons deleted in Pipedrive (found by the id scan) keep their last values in DuckDB and PostgreSQL', { timeout: 120_000 }, async () => {
    sim = await startSimulator({ seed: 46, deals: 40, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    const prefix = uniqueName('softdel');
    const schema = uniqueName('softdel');
    const env = pipelineEnv(sim, prefix, { TABLES: 'person', METRICS_PORT: '0', SINK_METRICS_PORT: '0' });
    expect((await once(env)).code).toBe(0);
    const gone = sim.store.persons.all().slice(0, 3);
    const before = new Map<number, Record<string, unknown>>();
    for (const p of gone) before.set(p.id, await api(sim.baseUrl, sim.token, 'GET', `/api/v2/persons/${p.id}`));
    for (const p of gone) await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/persons/${p.id}`);
    sim.clock.advance(7 * HOUR); // v2 lists hide deleted persons: the 6-hourly id scan finds them
    expect((await once(env)).code).toBe(0);
    const deletes = (await readTopic(`${prefix}.person`)).filter((r) => (r.value as Value | null)?.__op === 'd');
    expect(deletes.map((r) => (r.value as Value).name), 'the delete records carry only the key').toEqual([null, null, null]);

    const dir = mkdtempSync(join(tmpdir(), 'pcdc-softdel-'));
    for (const destination of ['duckdb', 'postgres'] as const) {
      const sink = await startSink(loadSinkConfig({ ...env, SINK_DESTINATION: destination, DUCKDB_PATH: join(dir, 'sink.duckdb'), DATABASE_URL: services().databaseUrl, DATABASE_SCHEMA: schema }), {
        metrics: createMetrics('sink'),
        log: silentLogger,
      });
      await sink.caughtUp(60_000);
      await sink.stop();
      const rows = destination === 'duckdb' ? await duckRows(join(dir, 'sink.duckdb'), 'person') : await pgRows(schema, 'person');
      for (const [id, api] of before) {
        const row = rows.find((r) => Number(r.id) === id);
        expect(row, `${destination}: person ${id}`).toMatchObject({ _deleted: true, _op: 'd', name: api.name, first_name: api.first_name, last_name: api.last_name });
      }
      expect(rows.filter((r) => r._deleted !== true)).toHaveLength(sim.store.persons.all().filter((p) => p.deletedAtMs === null).length);
    }
  });

  it('topics: replication settings clamped to a single broker, history kept forever, the state topic compacted', { timeout: 60_000 }, async () => {
    sim = await startSimulator({ seed: 44, deals: 5 });
    const prefix = uniqueName('topics');
    const run = await once(pipelineEnv(sim, prefix, { TABLES: 'deal', METRICS_PORT: '0', TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '2' }));
    expect(run.code).toBe(0);
    expect(run.events.find((l) => l.event === 'topic-replication-clamped')).toMatchObject({ wanted: 3, brokers: 1, replicationFactor: 1, minInsyncReplicas: 1 });
    const admin = new Kafka({ clientId: 'test-admin', brokers: services().brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const config = async (topic: string) => {
        const { resources } = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
        return Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      };
      const history = await config(`${prefix}.deal_history`);
      expect(history['retention.ms']).toBe('-1');
      expect(history['cleanup.policy']).toBe('delete');
      expect(history['min.insync.replicas']).toBe('1');
      const state = await config(`${prefix}._state`);
      expect(state['cleanup.policy']).toBe('compact');
      expect((await config(`${prefix}.deal`))['cleanup.policy']).toBe('compact');
      const meta = await admin.fetchTopicMetadata({ topics: [`${prefix}._state`, `${prefix}.deal`] });
      for (const t of meta.topics) for (const p of t.partitions) expect(p.replicas, `${t.name} replicas`).toHaveLength(1);
    } finally {
      await admin.disconnect();
    }
  });
});

function lastOf(records: readonly ConsumedRecord[], id: number): Value | null | undefined {
  const mine = records.filter((r) => (r.key as Value).id === id);
  return mine.at(-1)?.value as Value | null | undefined;
}

async function duckRows(path: string, table: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(path);
  const conn = await instance.connect();
  const rows = (await conn.runAndReadAll(`SELECT * FROM "${table}"`)).getRowObjectsJS() as Array<Record<string, unknown>>;
  conn.closeSync();
  instance.closeSync();
  return rows;
}

async function pgRows(schema: string, table: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: services().databaseUrl });
  await client.connect();
  try {
    return (await client.query(`SELECT * FROM "${schema}"."${table}"`)).rows as Array<Record<string, unknown>>;
  } finally {
    await client.end();
  }
}
