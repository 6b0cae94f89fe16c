/**
 * Benchmark (not a test): the producer's full-sync rate against its raw ceiling, in one run on the same
 * Kafka and registry. `TABLES=deal`, `HISTORY_REBUILD=off`: every deal is published to `deal` and to
 * `deal_history`, 500 deals a transaction.
 *   - product: `startProducer` over a generated account of N deals in the local Pipedrive, until caught up;
 *   - raw: the same deal objects (fetched from the same local Pipedrive), encoded to the same Avro records
 *     (keys, values and headers as the product writes them) with avsc beforehand, written by a bare kafkajs
 *     transactional producer, 500 deals (1,000 records + one state record) a transaction;
 *   - source: the local Pipedrive serving the same pages to a plain fetch loop.
 * Prints deals/s of each and the ratio product / raw, REPS times (medians and the paired ratios at the end).
 * The process runs with the heap setting `pipedrive-cdc run` applies (observe/heap.ts: ~7 % more CPU for a
 * flat RSS), for both sides; `HEAP=v8` leaves V8's default, to see what it costs.
 *   node --import tsx bench/producer-throughput.ts [deals=200000] [reps=3]
 */
import { cpus, loadavg, totalmem } from 'node:os';
import avro from 'avsc';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { deal } from '../src/catalog/tables/deal.ts';
import { historyOf } from '../src/catalog/types.ts';
import { loadProducerConfig } from '../src/config.ts';
import { startServices } from '../src/infra/services.ts';
import { keepHeapTight } from '../src/observe/heap.ts';
import { silentLogger } from '../src/observe/log.ts';
import { createMetrics } from '../src/observe/metrics.ts';
import { parseRow } from '../src/pipedrive/row.ts';
import { startProducer } from '../src/producer.ts';
import { VERSION_KEY_FIELD, keySchema, valueSchema } from '../src/publish/avro-schema.ts';
import { HASH_HEADER, OP_HEADER, SOURCE_TS_HEADER } from '../src/publish/publisher.ts';
import { contentHash } from '../src/capture/emit.ts';
import { runCli } from '../test/integration/support/harness.ts';

if (process.env.HEAP !== 'v8') keepHeapTight();
const deals = Number(process.argv[2] ?? 200_000);
const reps = Number(process.argv[3] ?? 3);
const services = await startServices({ kafka: true, registry: true });
// The local Pipedrive in a process of its own, as a real API would be: its work is not the producer's.
const simRun = runCli(['sim', '--port', '0', '--seed', '13', '--deals', String(deals), '--daily-budget', '1000000000000', '--burst', '1000000'], {});
const sim = await (async () => {
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const text = simRun.lines.join('\n');
    const url = /listening on (http:\/\/\S+) /.exec(text)?.[1];
    const token = /API token: (\S+)/.exec(text)?.[1];
    if (url && token && /Seeded/.test(text)) return { baseUrl: url, token, close: async () => void simRun.child.kill('SIGTERM') };
  }
  throw new Error(`the local Pipedrive did not start: ${simRun.lines.join('\n')}`);
})();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Every deal object, page by page, as any HTTP client reads them (timed: the source's rate). */
async function fetchAll(): Promise<{ items: unknown[]; seconds: number }> {
  const started = performance.now();
  const items: unknown[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ status: 'open,won,lost,deleted', limit: '500', sort_by: 'update_time', sort_direction: 'asc', ...(cursor ? { cursor } : {}) });
    const body = (await (await fetch(`${sim.baseUrl}/api/v2/deals?${q}`, { headers: { 'x-api-token': sim.token } })).json()) as { data: unknown[]; additional_data: { next_cursor: string | null } };
    items.push(...body.data);
    cursor = body.additional_data.next_cursor;
  } while (cursor);
  return { items, seconds: (performance.now() - started) / 1000 };
}

/** The raw ceiling: pre-encoded records, bare kafkajs transactions of 500 deals. */
async function raw(items: readonly unknown[], prefix: string): Promise<{ rate: number; cpuUs: number }> {
  const kafka = new Kafka({ clientId: `${prefix}-raw`, brokers: services.kafkaBrokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [`${prefix}.deal`, `${prefix}.deal_history`].map((topic) => ({ topic, numPartitions: 3 })).concat([{ topic: `${prefix}._state`, numPartitions: 1 }]) });
  await admin.disconnect();
  const keyType = avro.Type.forSchema(keySchema(prefix, deal) as avro.Schema);
  const valueType = avro.Type.forSchema(valueSchema(prefix, deal) as avro.Schema);
  const historyType = avro.Type.forSchema(valueSchema(prefix, historyOf(deal)!) as avro.Schema);
  // Confluent wire format: magic byte 0, the schema id, the Avro body (ids here are placeholders: nobody decodes).
  const wire = (id: number, body: Buffer) => {
    const out = Buffer.alloc(5 + body.length);
    out.writeInt32BE(id, 1);
    body.copy(out, 5);
    return out;
  };
  const historyKeyType = avro.Type.forSchema(keySchema(prefix, historyOf(deal)!) as avro.Schema);
  const now = Date.now();
  // The product's records exactly: its headers (op, source time, content hash) on both copies, history keys
  // with the version time. (Before 2026-12-03 the raw side wrote no headers and the entity key on history
  // records: kafkajs encodes three headers a record, so the baseline was lighter than what the product writes.)
  const records = items.map((item) => {
    const row = parseRow(deal, item);
    const ts = Number(row.update_time);
    const value = { ...row, __op: 'r', __deleted: false, __source_ts_ms: ts, __synced_ms: now };
    const headers = { [OP_HEADER]: 'r', [SOURCE_TS_HEADER]: String(ts), [HASH_HEADER]: contentHash(row) };
    return {
      key: wire(1, keyType.toBuffer({ id: row.id })),
      value: wire(2, valueType.toBuffer(value)),
      historyKey: wire(3, historyKeyType.toBuffer({ id: row.id, [VERSION_KEY_FIELD]: ts })),
      history: wire(4, historyType.toBuffer(value)),
      headers,
    };
  });
  const producer = kafka.producer({ transactionalId: `${prefix}-raw`, idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const tx = await producer.transaction();
    await tx.sendBatch({
      topicMessages: [
        { topic: `${prefix}.deal`, messages: chunk.map((r) => ({ key: r.key, value: r.value, headers: r.headers })) },
        { topic: `${prefix}.deal_history`, messages: chunk.map((r) => ({ key: r.historyKey, value: r.history, headers: r.headers })) },
        { topic: `${prefix}._state`, messages: [{ key: 'state', value: JSON.stringify({ cursor: i }) }] },
      ],
    });
    await tx.commit();
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await producer.disconnect();
  return { rate: items.length / seconds, cpuUs: (used.user + used.system) / items.length };
}

async function product(prefix: string): Promise<{ rate: number; cpuUs: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const run = startProducer(
    loadProducerConfig({
      PIPEDRIVE_BASE_URL: sim.baseUrl,
      PIPEDRIVE_API_TOKEN: sim.token,
      KAFKA_BROKERS: services.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: services.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      CONNECTOR_NAME: prefix,
      TABLES: 'deal',
      HISTORY_REBUILD: 'off',
    }),
    { metrics: createMetrics('producer'), log: silentLogger, untilCaughtUp: true },
  );
  await run.done;
  const used = process.cpuUsage(cpu);
  return { rate: deals / ((performance.now() - started) / 1000), cpuUs: (used.user + used.system) / deals };
}

try {
  const rows: Array<{ product: number; raw: number; source: number; productCpu: number; rawCpu: number }> = [];
  if (process.env.ONLY_PRODUCT) {
    // For profiling: `ONLY_PRODUCT=1 node --cpu-prof --import tsx bench/producer-throughput.ts`.
    console.log(`product ${Math.round((await product(`ptp${Date.now()}`)).rate)} deals/s`);
    process.exit(0);
  }
  for (let rep = 1; rep <= reps; rep++) {
    // The product first: the raw side's deal objects and records (hundreds of MB at 200,000 deals) are not
    // yet on the heap it shares with this bench, where they made its garbage collections slower.
    const p = await product(`ptp${Date.now()}`);
    const { items, seconds } = await fetchAll();
    const source = items.length / seconds;
    const r = await raw(items, `ptr${Date.now()}`);
    rows.push({ product: p.rate, raw: r.rate, source, productCpu: p.cpuUs, rawCpu: r.cpuUs });
    // CPU time of this process per deal (the local Pipedrive is another process): what the rates come to
    // when the cores are the bottleneck, as on a loaded machine.
    console.log(
      `rep ${rep}: product ${Math.round(p.rate)} deals/s (${p.cpuUs.toFixed(0)} µs CPU a deal), raw kafkajs ${Math.round(r.rate)} deals/s (${r.cpuUs.toFixed(0)} µs), ` +
        `ratio ${(p.rate / r.rate).toFixed(2)}; the local Pipedrive serves ${Math.round(source)} rows/s; load ${loadavg()[0]!.toFixed(1)}`,
    );
  }
  const m = { product: median(rows.map((x) => x.product)), raw: median(rows.map((x) => x.raw)), source: median(rows.map((x) => x.source)) };
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
  console.log(`median of ${reps}: product ${Math.round(m.product)} deals/s, raw ${Math.round(m.raw)} deals/s → ratio ${(m.product / m.raw).toFixed(2)}; source ${Math.round(m.source)} rows/s (${deals} deals, each also to deal_history)`);
  // Each product run over the raw run right after it: on a shared machine the load moves between reps.
  console.log(`CPU a deal, medians: product ${median(rows.map((x) => x.productCpu)).toFixed(0)} µs, raw ${median(rows.map((x) => x.rawCpu)).toFixed(0)} µs`);
  const paired = rows.map((x) => x.product / x.raw);
  console.log(`paired ratios ${paired.map((x) => x.toFixed(2)).join(', ')}; median ${median(paired).toFixed(2)}`);
} finally {
  await sim.close();
  await services.stop();
}
