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

    const env = {
      PIPEDRIVE_BASE_URL: sim.baseUrl,
      PIPEDRIVE_API_TOKEN: sim.token,
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
      TOPIC_PREFIX: 'pipedrive',
      CONNECTOR_NAME: 'pipedrive-cdc-demo',
      POLL_INTERVAL_MS: '2000',
      // The whole catalog; versions of deals from before the first sync come from each deal's changelog.
      HISTORY_REBUILD: 'changes',
      DUCKDB_PATH: duckdbPath,
      SINK_DESTINATION: 'duckdb',
    };
    const producer = startProducer(loadProducerConfig(env), { metrics: producerMetrics, log: silentLogger });
    cleanups.push(producer.stop);
    const sink = await startSink(loadSinkConfig(env), { metrics: sinkMetrics, log: silentLogger });
    cleanups.push(sink.stop);

    say('  syncing…');
    const progress = setInterval(() => void showProgress(producerMetrics, sinkMetrics), 1000);
    cleanups.push(async () => clearInterval(progress));
    await waitForSync(sim, sink, producerMetrics, loadProducerConfig(env).tables.filter((t) => !['child', 'history', 'changelog'].includes(tableByName(t).sync.kind)).length);
    clearInterval(progress);
    await showProgress(producerMetrics, sinkMetrics);
    await summary(sink, producerServer.url, sinkServer.url, services.prometheusUrl, duckdbPath);
    if (values['exit-after-sync']) return 0;

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

async function showProgress(p: Metrics, s: Metrics): Promise<void> {
  const produced = await total(p.recordsProduced);
  const applied = await total(s.sinkRows, (l) => l.op !== 't');
  const lag = await total(s.sinkLag);
  say(`    produced ${produced} change records → applied ${applied} rows in DuckDB (lag ${lag})`);
}

/** Synced when every table has finished its first pass (freshness is set per table then) and the sink caught up. */
async function waitForSync(sim: Simulator, sink: Awaited<ReturnType<typeof startSink>>, p: Metrics, tables: number): Promise<void> {
  for (;;) {
    const passed = (await p.lastPollSuccess.get()).values.length;
    if (passed >= tables && (await total(p.recordsProduced)) >= sim.store.deals.table.size) {
      await sink.caughtUp(300_000);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function summary(sink: Awaited<ReturnType<typeof startSink>>, producerUrl: string, sinkUrl: string, prometheusUrl: string | undefined, duckdbPath: string) {
  say('\n  ✔ synced');
  say(`  DuckDB ${duckdbPath}`);
  for (const [table, n] of await sink.destination.countRows()) say(`    ${table.padEnd(24)} ${String(n).padStart(7)} rows`);
  say(`  Kafka topics: ${sink.topics.length} (${sink.topics.slice(0, 4).join(', ')}, …)`);
  say(`    pipedrive._state (offsets, compacted)`);
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
  say(`  round ${changeRound}: created 1, updated 2${changeRound % 3 === 0 ? ', deleted 1' : ''} deal(s) in the local Pipedrive`);
  await showProgress(p, s);
}
