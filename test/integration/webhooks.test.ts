import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProducerConfig, loadSinkConfig } from '../../src/config.ts';
import { silentLogger, type Logger } from '../../src/observe/log.ts';
import { createMetrics, type Metrics } from '../../src/observe/metrics.ts';
import { startProducer, type ProducerRun } from '../../src/producer.ts';
import { startSink } from '../../src/sink/sink.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { freePort, pipelineEnv, readTopic, uniqueName, until } from './support/harness.ts';
import { api } from './support/pipedrive.ts';

/**
 * Webhooks as hints (issue 14), with real Kafka, registry and a DuckDB sink: lost, duplicated and
 * reordered deliveries change nothing about what the sink ends with; forged ones are refused and counted;
 * a delivered one makes the change reach its topic within seconds while the poll interval is 10 minutes.
 * Oracles: the simulator's store (what Pipedrive holds) and the topics as a consumer reads them.
 */
type Row = Record<string, unknown>;
const PASSWORD = 'webhook-test-secret-0123456789abcdef';
const TEN_MINUTES = '600000';

async function counter(metrics: Metrics, name: 'webhooksReceived' | 'webhooksRefused', labels: Record<string, string> = {}): Promise<number> {
  const values = (await metrics[name].get()).values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x));
  return values.reduce((n, v) => n + v.value, 0);
}

describe('webhooks as change hints', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 14, deals: 40 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  /** The simulator's webhooks posting to the receiver on `port`. */
  const ours = (port: number) => sim.store.webhooks.list().filter((w) => w.subscriptionUrl === `http://127.0.0.1:${port}/pipedrive`);

  /** A producer with webhooks on and a 10-minute poll interval, started and caught up. */
  async function startWithWebhooks(prefix: string, log: Logger = silentLogger): Promise<{ run: ProducerRun; metrics: Metrics; port: number; env: Record<string, string> }> {
    const port = await freePort();
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal,person', HISTORY_REBUILD: 'off', POLL_INTERVAL_MS: TEN_MINUTES, METRICS_PORT: '0' });
    const metrics = createMetrics('producer');
    const run = startProducer(loadProducerConfig({ ...env, WEBHOOK_PUBLIC_URL: `http://127.0.0.1:${port}/pipedrive`, WEBHOOK_PORT: String(port), WEBHOOK_PASSWORD: PASSWORD }), { metrics, log });
    await until('the first passes', () => run.status().tables.length === 2 && run.status().tables.every((t) => t.snapshotDone && t.lastPassStartedAt !== null));
    return { run, metrics, port, env };
  }

  it('20 % of deliveries dropped, 10 % duplicated or reordered: after the next poll the sink equals the source, without duplicates', async () => {
    const prefix = uniqueName('wh');
    const faults = sim.webhooks.faults.add([
      { kind: 'drop', probability: 0.2, seed: 141 },
      { kind: 'duplicate', probability: 0.05, seed: 142 },
      { kind: 'reorder', probability: 0.05, seed: 143, holdMs: 300 },
    ]);
    const { run, metrics, env, port } = await startWithWebhooks(prefix);
    try {
      // Creates, updates and deletes of deals and persons, a few a second (several within one second too).
      const made: number[] = [];
      const people: number[] = [];
      for (let i = 0; i < 12; i++) {
        made.push(Number((await api(sim.baseUrl, sim.token, 'POST', '/api/v2/deals', { title: `webhook deal ${i}` })).id));
        people.push(Number((await api(sim.baseUrl, sim.token, 'POST', '/api/v2/persons', { name: `webhook person ${i}` })).id));
        await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/deals/${1 + i}`, { title: `seeded deal ${1 + i} renamed` });
        await api(sim.baseUrl, sim.token, 'PATCH', `/api/v2/persons/${people[0]}`, { name: `first person, edit ${i}` });
        if (i % 3 === 2) {
          await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/deals/${made[i - 1]}`);
          await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/persons/${people[i - 1]}`);
          await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/deals/${20 + i}`);
          await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/persons/${2 + i}`);
        }
        await new Promise((r) => setTimeout(r, 150));
      }
      await sim.webhooks.settled();
      await until('the hints to be served', async () => (await counter(metrics, 'webhooksReceived')) > 0);
      // Let the passes the delivered hints started finish.
      await new Promise((r) => setTimeout(r, 3000));
      const injected = sim.webhooks.faults.injected;
      expect(injected.drop, 'some deliveries were dropped').toBeGreaterThan(0);
      expect(injected.duplicate + injected.reorder, 'some deliveries were duplicated or reordered').toBeGreaterThan(0);
    } finally {
      await run.stop();
      for (const id of faults) sim.webhooks.faults.clear(id);
    }
    // Stopping leaves the subscriptions (the next start reuses them): one per synced entity.
    expect(ours(port).map((w) => w.eventObject).sort()).toEqual(['deal', 'person']);

    // The next poll: the same connector resumes from its committed offsets and reads to the end. Persons'
    // deletes are hidden from their list: the catalog finds them with an id scan every 6 h, so the clock
    // moves past the next scan (deal deletes are listed, and came with the passes already).
    sim.clock.advance(6 * 3_600_000 + 60_000);
    const next = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: silentLogger, untilCaughtUp: true });
    expect((await next.done).failed.size).toBe(0);

    const duckPath = join(mkdtempSync(join(tmpdir(), 'pcdc-wh-')), 'sink.duckdb');
    const sink = await startSink(loadSinkConfig({ ...env, SINK_DESTINATION: 'duckdb', DUCKDB_PATH: duckPath, SINK_GROUP_ID: `${prefix}-duck`, SINK_METRICS_PORT: '0' }), { metrics: createMetrics('sink'), log: silentLogger });
    await sink.caughtUp(120_000);
    await sink.stop();

    const instance = await DuckDBInstance.create(duckPath, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS() as Row[];
    try {
      for (const [table, store, field] of [['deal', sim.store.deals.table.all(), 'title'], ['person', sim.store.persons.all(), 'name']] as const) {
        const got = await rows(`SELECT id, ${field} AS v, _deleted AS deleted FROM ${table}`);
        // One row per key.
        expect(new Set(got.map((r) => Number(r.id))).size, `${table}: one row per key`).toBe(got.length);
        const live = new Map(store.filter((r) => r.deletedAtMs === null).map((r) => [r.id, (r.data as unknown as Row)[field]]));
        expect(new Map(got.filter((r) => r.deleted !== true).map((r) => [Number(r.id), r.v])), `${table}: live rows`).toEqual(live);
        // A deleted row the sink had is marked deleted (one created and deleted between two passes was never seen).
        const deleted = new Set(store.filter((r) => r.deletedAtMs !== null).map((r) => r.id));
        for (const r of got) expect(r.deleted === true, `${table} ${String(r.id)}: deleted in the source`).toBe(deleted.has(Number(r.id)));
        expect(got.filter((r) => r.deleted === true).length, `${table}: deletes reached the sink`).toBeGreaterThan(0);
      }
    } finally {
      conn.closeSync();
      instance.closeSync();
    }

    // No version published twice: duplicated or repeated hints cost a pass, never a record.
    for (const table of ['deal', 'person']) {
      const versions = (await readTopic(`${prefix}.${table}`)).filter((r) => r.value !== null).map((r) => r.value as Row);
      const seen = new Set<string>();
      for (const v of versions) {
        const { __synced_ms: _synced, __op: _op, ...content } = v;
        const id = JSON.stringify(content);
        expect(seen.has(id), `${table}: version of ${String(v.id)} published twice`).toBe(false);
        seen.add(id);
      }
    }
  }, 240_000);

  it('a delivered webhook starts a pass at once: the change is in its topic within 5 s under a 10-minute poll; forged ones are refused and counted; removing the connector deletes its subscriptions', async () => {
    const prefix = uniqueName('whf');
    const lines: Array<{ event: string } & Row> = [];
    const { run, metrics, port } = await startWithWebhooks(prefix, (event, fields) => lines.push({ event, ...fields }));
    try {
      const polls = () => lines.filter((l) => l.event === 'batch-committed').length;
      const before = polls();
      const personLists = () => Object.entries(sim.rateLimit.stats().byOperation).filter(([op]) => /person/i.test(op)).reduce((n, [, c]) => n + (c as { requests: number }).requests, 0);
      const personListsBefore = personLists();
      const changedAt = Date.now();
      await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/7', { title: 'fresh within seconds' });
      await until('the change in the deal topic', async () => (await readTopic(`${prefix}.deal`)).some((r) => (r.value as Row | null)?.title === 'fresh within seconds'), 5000);
      const seconds = (Date.now() - changedAt) / 1000;
      expect(seconds).toBeLessThan(5);
      expect(polls()).toBeGreaterThan(before);
      // Only the deal table was polled for it: the person table kept its 10-minute interval.
      expect(personLists(), 'person list calls after the hint').toBe(personListsBefore);
      expect(await counter(metrics, 'webhooksReceived', { table: 'deal', action: 'change' })).toBeGreaterThanOrEqual(1);
      await until('the change-to-Kafka histogram', async () => ((await metrics.webhookChangeToKafka.get()).values.find((v) => v.metricName?.endsWith('_count') && v.labels.table === 'deal')?.value ?? 0) >= 1, 5000);

      // Forged: wrong credentials, and right credentials with a webhook id this connector never registered.
      const url = `http://127.0.0.1:${port}/pipedrive`;
      const body = JSON.stringify({ meta: { action: 'change', entity: 'deal', entity_id: 7, webhook_id: 999_999, version: '2.0', timestamp: new Date().toISOString() }, data: { id: 7, title: 'forged' }, previous: null });
      const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      const user = `pipedrive-cdc-${prefix}`;
      const wrong = await fetch(url, { method: 'POST', headers: { authorization: basic(user, 'not-the-password-at-all'), 'content-type': 'application/json' }, body });
      expect(wrong.status).toBe(401);
      const none = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(none.status).toBe(401);
      const unknown = await fetch(url, { method: 'POST', headers: { authorization: basic(user, PASSWORD), 'content-type': 'application/json' }, body });
      expect(unknown.status).toBe(401);
      expect(await counter(metrics, 'webhooksRefused', { reason: 'credentials' })).toBe(2);
      expect(await counter(metrics, 'webhooksRefused', { reason: 'unknown_webhook' })).toBe(1);
      // The forged body changed nothing: the topic holds no "forged" title.
      expect((await readTopic(`${prefix}.deal`)).some((r) => (r.value as Row | null)?.title === 'forged')).toBe(false);
    } finally {
      // Removed (as the admin API's DELETE does): its subscriptions go with it.
      expect(ours(port)).toHaveLength(2);
      await run.stop({ removeWebhooks: true });
    }
    expect(ours(port)).toEqual([]);
  }, 120_000);
  it('a person deleted in Pipedrive is deleted in its topic within seconds (its list hides deleted rows, the id scan is hours away); a delete hint for a live person deletes nothing', async () => {
    const prefix = uniqueName('whd');
    const { run, port } = await startWithWebhooks(prefix);
    try {
      const live = sim.store.persons.all().filter((r) => r.deletedAtMs === null).map((r) => r.id);
      const [victim, survivor] = [live[0]!, live[1]!];
      // A delivery with the connector's credentials and webhook id, but for a person nobody deleted (a stale
      // or mistaken hint): the pass reads the person back and publishes nothing for it.
      const [hook] = ours(port).filter((w) => w.eventObject === 'person');
      const basic = `Basic ${Buffer.from(`pipedrive-cdc-${prefix}:${PASSWORD}`).toString('base64')}`;
      const stale = await fetch(`http://127.0.0.1:${port}/pipedrive`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ meta: { action: 'delete', entity: 'person', entity_id: survivor, webhook_id: hook!.id, version: '2.0', timestamp: new Date().toISOString() }, data: null, previous: { id: survivor } }),
      });
      expect(stale.status).toBe(200);
      const deletedAt = Date.now();
      await api(sim.baseUrl, sim.token, 'DELETE', `/api/v2/persons/${victim}`);
      const deletesOf = async (id: number) => (await readTopic(`${prefix}.person`)).filter((r) => (r.key as Row).id === id && (r.value === null || (r.value as Row).__op === 'd'));
      await until('the delete and its tombstone in the person topic', async () => (await deletesOf(victim)).length === 2, 5000);
      expect((Date.now() - deletedAt) / 1000).toBeLessThan(5);
      const [op, tombstone] = await deletesOf(victim);
      expect((op!.value as Row).__op).toBe('d');
      expect(tombstone!.value).toBeNull();
      expect(await deletesOf(survivor), 'a live person stays live').toEqual([]);
    } finally {
      await run.stop({ removeWebhooks: true });
    }
  }, 120_000);
});
