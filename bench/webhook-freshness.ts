/**
 * Benchmark (not a test): freshness with webhooks (issue 14). POLL_INTERVAL_MS=600000; 300 deal changes
 * through the local Pipedrive's API (PATCH /api/v2/deals/:id), one every 0.5 s; for each, the time from
 * the PATCH to the row with the new title committed in the DuckDB sink; and the API tokens a day would
 * cost (the simulator's token accounting). Once with webhooks on, once off (same interval).
 *   node --import tsx bench/webhook-freshness.ts [changes] [everyMs]
 *
 * The sink runs in this process. DuckDB lets no other connection into the file while the sink holds it,
 * so instead of polling the table the bench notes when the sink's transaction holding the new title
 * committed (a wrapper around its destination); after the run the file is read to check every title.
 * Without webhooks nothing arrives before the next poll (10 minutes after the last one): that freshness
 * is computed from the poll's time (next poll − change + the pass's measured duration), not waited for.
 * Tokens per day: the change window's tokens scaled to 24 h (the same change rate all day), plus 144
 * regular passes a day, one pass measured after the window (a caught-up run of the same connector).
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadProducerConfig, loadSinkConfig } from '../src/config.ts';
import { startServices } from '../src/infra/services.ts';
import { silentLogger } from '../src/observe/log.ts';
import { createMetrics } from '../src/observe/metrics.ts';
import { startProducer } from '../src/producer.ts';
import type { Destination } from '../src/sink/model.ts';
import { startSink } from '../src/sink/sink.ts';
import { startSimulator, type Simulator } from '../src/simulator/server.ts';
import { freePort } from '../test/integration/support/harness.ts';

const CHANGES = Number(process.argv[2] ?? 300);
const EVERY_MS = Number(process.argv[3] ?? 500);
const INTERVAL_MS = 600_000;
const TABLES = 'deal,person,organization';
const DAY_S = 86_400;

const services = await startServices({ kafka: true, registry: true });
const sim = await startSimulator({ seed: 21, deals: Math.max(1000, CHANGES), rateLimit: { dailyBudget: 1e12, burst: 100_000 } });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
/** Tokens the connector spent: everything but the benchmark's own writes (updateDeal). */
const tokens = (s: Simulator) => {
  const st = s.rateLimit.stats();
  return st.tokensSpentTotal - (st.byOperation.updateDeal?.tokens ?? 0);
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface ModeResult {
  mode: 'webhooks on' | 'webhooks off';
  observed: boolean;
  latencies: number[];
  windowS: number;
  windowTokens: number;
  passTokens: number;
  passS: number;
  hintPasses: number;
}

async function run(webhooks: boolean): Promise<ModeResult> {
  const prefix = `benchwh${webhooks ? 'on' : 'off'}${Date.now()}`;
  const env: Record<string, string> = {
    PIPEDRIVE_BASE_URL: sim.baseUrl,
    PIPEDRIVE_API_TOKEN: sim.token,
    KAFKA_BROKERS: services.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
    TOPIC_PREFIX: prefix,
    CONNECTOR_NAME: prefix,
    TABLES,
    HISTORY_REBUILD: 'off',
    POLL_INTERVAL_MS: String(INTERVAL_MS),
    STATE_DIR: mkdtempSync(join(tmpdir(), 'benchwh-state-')),
  };
  const port = await freePort();
  const hooks = webhooks ? { WEBHOOK_PUBLIC_URL: `http://127.0.0.1:${port}/pipedrive`, WEBHOOK_PORT: String(port), WEBHOOK_PASSWORD: 'bench-webhook-secret-0123456789' } : {};
  const metrics = createMetrics('producer');
  const producer = startProducer(loadProducerConfig({ ...env, ...hooks }), { metrics, log: silentLogger });

  // The sink notes when each title committed.
  const committedAt = new Map<string, number>();
  const wrap = (d: Destination): Destination => ({
    ...d,
    kind: d.kind,
    where: d.where,
    apply: (changes, offset) => d.apply(changes, offset),
    applyAll: async (items) => {
      const results = await d.applyAll(items);
      const now = performance.now();
      items.forEach((item, i) => {
        if (!results[i]!.applied) return;
        for (const c of item.changes) if (c.kind === 'latest' && c.table.name === 'deal') for (const row of c.upserts) if (typeof row.title === 'string') committedAt.set(row.title, now);
      });
      return results;
    },
  });
  const duckPath = join(mkdtempSync(join(tmpdir(), 'benchwh-')), 'sink.duckdb');
  const sink = await startSink(loadSinkConfig({ ...env, DUCKDB_PATH: duckPath, SINK_GROUP_ID: `${prefix}-duck`, SINK_METRICS_PORT: '0' }), { metrics: createMetrics('sink'), log: silentLogger, wrapDestination: wrap });
  try {
    for (;;) {
      const tables = producer.status().tables;
      if (tables.length === 3 && tables.every((t) => t.snapshotDone && t.lastPassStartedAt !== null)) break;
      await sleep(200);
    }
    await sink.caughtUp(300_000);
    const lastPollAt = Math.max(...producer.status().tables.map((t) => Date.parse(t.lastPassStartedAt!)));
    await sleep(2000);

    const tokens0 = tokens(sim);
    const sent: Array<{ title: string; at: number; wall: number }> = [];
    const t0 = performance.now();
    for (let i = 0; i < CHANGES; i++) {
      await sleep(t0 + i * EVERY_MS - performance.now());
      const title = `${prefix} change ${i}`;
      const at = performance.now();
      const wall = Date.now();
      const res = await fetch(`${sim.baseUrl}/api/v2/deals/${i + 1}`, { method: 'PATCH', headers: { 'x-api-token': sim.token, 'content-type': 'application/json' }, body: JSON.stringify({ title }) });
      if (!res.ok) throw new Error(`PATCH deal ${i + 1}: ${res.status}`);
      sent.push({ title, at, wall });
    }
    // Webhooks on: the last changes get 30 s to arrive.
    const end = performance.now() + (webhooks ? 30_000 : 2_000);
    while (performance.now() < end && !sent.every((s) => committedAt.has(s.title))) await sleep(50);
    const windowS = (performance.now() - t0) / 1000;
    const windowTokens = tokens(sim) - tokens0;
    const hintPasses = (await metrics.webhookChangeToKafka.get()).values.filter((v) => v.metricName?.endsWith('_count')).reduce((n, v) => n + v.value, 0);
    await producer.stop();

    // One regular pass (what the poll every 10 minutes costs): the same connector, caught up once.
    const passTokens0 = tokens(sim);
    const p0 = performance.now();
    const pass = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: silentLogger, untilCaughtUp: true });
    await pass.done;
    const passS = (performance.now() - p0) / 1000;
    const passTokens = tokens(sim) - passTokens0;
    await sink.caughtUp(120_000);

    const latencies = webhooks
      ? sent.map((s) => ((committedAt.get(s.title) ?? Number.POSITIVE_INFINITY) - s.at) / 1000)
      : sent.map((s) => (lastPollAt + INTERVAL_MS - s.wall) / 1000 + passS);
    await sink.stop();
    // The file holds every change (the last title of each deal).
    const instance = await DuckDBInstance.create(duckPath, { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    const titles = new Set(((await conn.runAndReadAll(`SELECT title FROM deal WHERE title LIKE '${prefix} change %'`)).getRowObjectsJS() as Array<{ title: string }>).map((r) => r.title));
    conn.closeSync();
    instance.closeSync();
    const missing = sent.filter((s) => !titles.has(s.title)).length;
    if (missing > 0) throw new Error(`${missing} changes are not in the sink after the regular pass`);
    return { mode: webhooks ? 'webhooks on' : 'webhooks off', observed: webhooks, latencies, windowS, windowTokens, passTokens, passS, hintPasses };
  } finally {
    await producer.stop();
    await sink.stop().catch(() => undefined);
  }
}

try {
  const load0 = loadavg();
  const results = [await run(true), await run(false)];
  const load1 = loadavg();
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'not seen');
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${new Date().toISOString()}; load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`${CHANGES} deal changes, one every ${EVERY_MS} ms; POLL_INTERVAL_MS=${INTERVAL_MS}; tables ${TABLES}`);
  console.log('| mode | change → sink p50 s | p99 s | max s | how | tokens in the window | one regular pass | tokens / day |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const perDay = Math.round((r.windowTokens / r.windowS) * DAY_S + (DAY_S / (INTERVAL_MS / 1000)) * r.passTokens);
    console.log(`| ${r.mode} | ${f(pct(r.latencies, 50))} | ${f(pct(r.latencies, 99))} | ${f(Math.max(...r.latencies))} | ${r.observed ? `observed (${r.hintPasses} hinted changes timed by the producer)` : `computed: next poll + pass (${r.passS.toFixed(1)} s)`} | ${r.windowTokens} in ${r.windowS.toFixed(0)} s | ${r.passTokens} | ${perDay.toLocaleString('en-US')} |`);
    console.log(`  ${r.mode}: hinted passes cost ${r.windowTokens} tokens for ${CHANGES} changes (${(r.windowTokens / CHANGES).toFixed(1)} a change)`);
  }
} finally {
  await sim.close();
  await services.stop?.();
}
