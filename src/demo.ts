import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tableByName } from './catalog/index.ts';
import { loadProducerConfig, loadSinkConfig } from './config.ts';
import { startServices } from './infra/services.ts';
import { silentLogger } from './observe/log.ts';
import { createMetrics, type Metrics } from './observe/metrics.ts';
import { startMetricsServer } from './observe/server.ts';
import { startProducer } from './producer.ts';
import { startSink } from './sink/sink.ts';
import { startSimulator, type Simulator } from './simulator/server.ts';
import { prepareModels, showModels } from './demo-models.ts';
import { ProgressLine, Rate, count, duration, eta } from './demo-progress.ts';

const USAGE = `pipedrive-cdc demo [options]

Starts a local Pipedrive with generated deals, Kafka, a schema registry and Prometheus (local processes,
Docker, or the services named by KAFKA_BROKERS / SCHEMA_REGISTRY_URL / PROMETHEUS_URL), then the producer
and a DuckDB sink; shows the sync, then keeps changing deals in the local Pipedrive and syncing them
until Ctrl-C, and stops everything it started.

Options:
  --deals N          deals generated in the local Pipedrive (default 2000)
  --seed S           seed of the generated account (default 1)
  --duckdb PATH      DuckDB file the sink writes (default pipedrive-demo.duckdb; replaced at start)
  --exit-after-sync  stop after the first full sync and its summary (for scripts and tests)
  --help`;

const say = (line: string) => process.stdout.write(`${line}\n`);
/** A non-terminal (CI, a pipe) gets a progress line this often; a terminal sees it change in place. */
const PLAIN_EVERY_MS = 5000;

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      deals: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      duckdb: { type: 'string', default: 'pipedrive-demo.duckdb' },
      'exit-after-sync': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    say(USAGE);
    return 0;
  }
  const deals = wholeNumber('--deals', values.deals);
  const seed = wholeNumber('--seed', values.seed);
  const duckdbPath = resolve(values.duckdb);
  // The demo's Kafka is new each run, so offsets stored in an old demo file would not match it.
  rmSync(duckdbPath, { force: true });
  rmSync(`${duckdbPath}.wal`, { force: true });
  rmSync(duckdbPath.replace(/(\.duckdb)?$/, '.models.duckdb'), { force: true });
  // dbt for the models step at the end: installed beside the sync when missing (PyPI, once).
  const models = prepareModels();
  models.ready.catch(() => undefined);

  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  const interrupted = new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  try {
    say('▶ pipedrive-cdc demo');
    const producerMetrics = createMetrics('producer');
    const sinkMetrics = createMetrics('sink');
    const producerServer = await startMetricsServer(producerMetrics, 0, '127.0.0.1');
    cleanups.push(producerServer.close);
    const sinkServer = await startMetricsServer(sinkMetrics, 0, '127.0.0.1');
    cleanups.push(sinkServer.close);

    // A large company's plan, so the demo shows syncing rather than waiting for tomorrow's API budget.
    const sim = await startSimulator({ seed, deals, rateLimit: { plan: 'ultimate', seats: 10 } });
    cleanups.push(() => sim.close());
    say(`  local Pipedrive   ${sim.baseUrl}  (${deals} deals, seed ${seed})`);

    say('  starting Kafka, schema registry and Prometheus (the first run downloads them; later runs reuse the cache)…');
    const services = await startServices({
      kafka: true,
      registry: true,
      prometheus: { targets: [hostPort(producerServer.url), hostPort(sinkServer.url)], job: 'pipedrive-cdc' },
      log: (m) => say(`    ${m}`),
    });
    cleanups.push(services.stop);
    say(`  Kafka             ${services.kafkaBrokers.join(',')}`);
    say(`  schema registry   ${services.schemaRegistryUrl}`);

    // A Kafka of this run starts empty. A Kafka named by KAFKA_BROKERS may hold an earlier demo's topics and
    // offsets (the producer would resume from them, against a new local Pipedrive): topics of this run's own.
    const fresh = services.mode.kafka === 'external' ? `-${Date.now().toString(36)}` : '';
    if (fresh) say(`  topics            pipedrive${fresh}.*  (Kafka is shared: this run's own topics and offsets)`);
    const env = {
      PIPEDRIVE_BASE_URL: sim.baseUrl,
      PIPEDRIVE_API_TOKEN: sim.token,
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
      TOPIC_PREFIX: `pipedrive${fresh}`,
      CONNECTOR_NAME: `pipedrive-cdc-demo${fresh}`,
      POLL_INTERVAL_MS: '2000',
      // The demo shows changes arriving within seconds; a real account paces polling by its token budget share.
      TOKEN_BUDGET_SHARE: 'off',
      // The whole catalog; versions of deals from before the first sync come from each deal's changelog.
      HISTORY_REBUILD: 'changes',
      DUCKDB_PATH: duckdbPath,
      SINK_DESTINATION: 'duckdb',
    };
    const producer = startProducer(loadProducerConfig(env), { metrics: producerMetrics, log: silentLogger });
    cleanups.push(producer.stop);
    let sink = await startSink(loadSinkConfig(env), { metrics: sinkMetrics, log: silentLogger });
    cleanups.push(() => sink.stop());

    // Tables with a pass of their own (children, history and change logs are published with their parent).
    const syncTables = loadProducerConfig(env).tables.filter((t) => !['child', 'history', 'changelog'].includes(tableByName(t).sync.kind));
    // Ctrl-C during the sync stops the demo too (the phases end at their next tick).
    const stopPhases = new AbortController();
    cleanups.push(async () => stopPhases.abort());
    const syncing = (async () => {
      await syncPhase(producerMetrics, sinkMetrics, syncTables, sim.store.deals.table.size, stopPhases.signal);
      await sinkPhase(sink, sinkMetrics, stopPhases.signal);
    })();
    syncing.catch(() => undefined); // after Ctrl-C its outcome no longer matters (before it, the race below throws it)
    if (await Promise.race([syncing.then(() => false), interrupted.then(() => true)])) {
      say('\n  stopping…');
      return 0;
    }
    await summary(sink, env.TOPIC_PREFIX, producerServer.url, sinkServer.url, services.prometheusUrl, duckdbPath);
    // DuckDB allows one writing process per file and dbt attaches the sink's: the sink pauses meanwhile.
    await sink.stop();
    await showModels(loadSinkConfig(env), models, say);
    if (values['exit-after-sync']) return 0;
    sink = await startSink(loadSinkConfig(env), { metrics: sinkMetrics, log: silentLogger });

    say('\n  Changing deals in the local Pipedrive every 5 s; watch them flow through. Ctrl-C stops everything.');
    const changes = setInterval(() => void changeSomeDeals(sim, producerMetrics, sinkMetrics), 5000);
    cleanups.push(async () => clearInterval(changes));
    await interrupted;
    say('\n  stopping…');
    return 0;
  } finally {
    await cleanup();
    say('  stopped every process the demo started.');
  }
}

function wholeNumber(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number, got "${v}"`);
  return n;
}

function hostPort(url: string): string {
  return new URL(url).host;
}

async function total(metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }> }, filter?: (l: Record<string, string | number>) => boolean) {
  const { values } = await metric.get();
  return values.filter((v) => !filter || filter(v.labels)).reduce((n, v) => n + v.value, 0);
}

/** What has gone through so far, from the producer's and the sink's metrics. */
async function flowed(p: Metrics, s: Metrics): Promise<string> {
  const produced = await total(p.recordsProduced);
  const applied = await total(s.sinkRows, (l) => l.op !== 't');
  return `${count(produced)} change records in Kafka, ${count(applied)} rows applied in DuckDB`;
}

const TICK_MS = 1000;
const tick = () => new Promise((r) => setTimeout(r, TICK_MS));

/**
 * Phase 1: the producer's first full pass. Done when every table has finished one (its last-successful-poll
 * gauge is set then) and every deal of the local Pipedrive is in Kafka. All numbers are the producer's
 * metrics. The ETA has a basis only while deals, the largest table, come in: their recent rate against
 * the deals the local Pipedrive holds. After that the tables still reading (per-deal walks: mail, products)
 * are named instead, with the API calls they make per second.
 */
async function syncPhase(p: Metrics, s: Metrics, tables: string[], deals: number, stop: AbortSignal): Promise<void> {
  const line = new ProgressLine(process.stdout, PLAIN_EVERY_MS);
  const records = new Rate();
  const dealRecords = new Rate();
  const calls = new Rate();
  const started = Date.now();
  while (!stop.aborted) {
    const passed = new Set((await p.lastPollSuccess.get()).values.map((v) => String(v.labels.table)));
    const done = tables.filter((t) => passed.has(t));
    const produced = await total(p.recordsProduced);
    const dealsIn = await total(p.recordsProduced, (l) => l.table === 'deal');
    const now = Date.now();
    records.add(now, produced);
    dealRecords.add(now, dealsIn);
    calls.add(now, await total(p.apiRequests));
    const head = `  1/2 producer  ${done.length}/${tables.length} tables · ${count(produced)} records`;
    if (done.length === tables.length && dealsIn >= deals) {
      const applied = await total(s.sinkRows, (l) => l.op !== 't');
      return line.done(`${head} in ${duration((now - started) / 1000)} (sink: ${count(applied)} rows so far)`);
    }
    const perSecond = (r: Rate, unit: string) => `${r.perSecond() === undefined ? '…' : count(r.perSecond()!)} ${unit}/s`;
    if (dealsIn < deals) {
      line.update(`${head} · ${perSecond(records, 'records')} · deals ${count(dealsIn)}/${count(deals)} · ETA ${eta(deals - dealsIn, dealRecords.perSecond())}`);
    } else {
      const left = tables.filter((t) => !passed.has(t));
      line.update(`${head} · ${perSecond(calls, 'API calls')} · reading ${left.slice(0, 3).join(', ')}${left.length > 3 ? ` +${left.length - 3}` : ''}`);
    }
    await tick();
  }
}

/** Phase 2: the sink applying what the producer wrote; ETA = the sink's lag (records) at its recent rate. */
async function sinkPhase(sink: Awaited<ReturnType<typeof startSink>>, s: Metrics, stop: AbortSignal): Promise<void> {
  const line = new ProgressLine(process.stdout, PLAIN_EVERY_MS);
  const rows = new Rate();
  let caughtUp = false;
  const waiting = sink.caughtUp(300_000).then(() => {
    caughtUp = true;
  });
  waiting.catch(() => undefined);
  const started = Date.now();
  while (!stop.aborted) {
    const applied = await total(s.sinkRows, (l) => l.op !== 't');
    const lag = await total(s.sinkLag);
    const now = Date.now();
    rows.add(now, applied);
    const rate = rows.perSecond();
    if (caughtUp) return line.done(`  2/2 sink      ${count(applied)} rows applied in DuckDB, caught up in ${duration((now - started) / 1000)}`);
    line.update(`  2/2 sink      ${count(applied)} rows applied · ${count(lag)} records behind · ${rate === undefined ? '…' : count(rate)} rows/s · ETA ${eta(lag, rate)}`);
    await Promise.race([waiting, tick()]);
  }
}

async function summary(sink: Awaited<ReturnType<typeof startSink>>, topicPrefix: string, producerUrl: string, sinkUrl: string, prometheusUrl: string | undefined, duckdbPath: string) {
  say('\n  ✔ synced');
  say(`  DuckDB ${duckdbPath}`);
  // The tables the sink materialises from the topics; the destination's own (offsets, staging) are not the user's.
  const mine = new Set(sink.topics.map((t) => t.slice(topicPrefix.length + 1)));
  for (const [table, n] of await sink.destination.countRows()) {
    if (mine.has(table)) say(`    ${table.padEnd(24)} ${count(n).padStart(9)} rows`);
  }
  say(`  Kafka topics: ${sink.topics.length} (${sink.topics.slice(0, 4).join(', ')}, …)`);
  say(`    ${topicPrefix}._state (offsets, compacted)`);
  say('  Metrics');
  say(`    producer ${producerUrl}/metrics`);
  say(`    sink     ${sinkUrl}/metrics`);
  if (prometheusUrl) say(`    Prometheus ${prometheusUrl}  (try: pipedrive_cdc_records_total)`);
}

let changeRound = 0;
async function changeSomeDeals(sim: Simulator, p: Metrics, s: Metrics): Promise<void> {
  changeRound++;
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${sim.baseUrl}${path}`, {
      method,
      headers: { 'x-api-token': sim.token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const ids = sim.store.deals.table.all().map((r) => r.id);
  const pick = () => ids[Math.floor(Math.random() * ids.length)]!;
  await call('POST', '/api/v2/deals', { title: `Demo deal ${changeRound}`, value: 1000 * changeRound, currency: 'EUR' });
  await call('PATCH', `/api/v2/deals/${pick()}`, { value: Math.round(Math.random() * 100_000) });
  await call('PATCH', `/api/v2/deals/${pick()}`, { status: 'won' });
  if (changeRound % 3 === 0) await call('DELETE', `/api/v2/deals/${pick()}`);
  // The numbers lag the round by up to a poll interval: they show what the producer and sink have done so far.
  say(`  round ${changeRound}: created 1, updated 2${changeRound % 3 === 0 ? ', deleted 1' : ''} deal(s) · so far ${await flowed(p, s)}`);
}
