import type { SinkConfig } from '../config.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { Registry } from '../registry/client.ts';
import { tableFromSchemas } from './avro-table.ts';
import { openDuckDb } from './destinations/duckdb.ts';
import { openPostgres } from './destinations/postgres.ts';
import type { InBatch } from './kafka.ts';
import { connectSinkKafka } from './kafkajs-kafka.ts';
import { offsetKey, type Destination, type SinkTable } from './model.ts';
import { reduceBatch, type DecodedRecord } from './reduce.ts';

export interface SinkRun {
  readonly destination: Destination;
  /** The topics being consumed (grows when the producer creates new tables). */
  readonly topics: readonly string[];
  /** Rejects when the sink stopped on an error it cannot retry (a record it cannot apply, a lost database). */
  readonly failed: Promise<never>;
  /** Resolves when every partition's applied position reached the log end offsets taken now. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function openDestination(config: SinkConfig): Promise<Destination> {
  return config.destination === 'postgres' ? openPostgres(config.databaseUrl!, config.databaseSchema) : openDuckDb(config.duckdbPath);
}

/**
 * The sink: Kafka topics → destination tables. Each fetched batch is decoded through the registry, reduced to
 * the last state per key and applied together with its offsets in one database transaction; records below
 * the destination's stored offsets are skipped, so a restart never applies a record twice.
 */
export async function startSink(config: SinkConfig, opts: { metrics: Metrics; log: Logger; topicWaitMs?: number; topicRefreshMs?: number }): Promise<SinkRun> {
  const { metrics, log } = opts;
  const prefix = `${config.topicPrefix}.`;
  const destination = await openDestination(config);
  const registry = new Registry(config.schemaRegistryUrl);
  const kafka = await connectSinkKafka({
    brokers: config.kafkaBrokers,
    clientId: `${config.connectorName}-sink`,
    groupId: config.groupId,
    sessionTimeoutMs: config.sessionTimeoutMs,
    topicFilter: (t) => t.startsWith(prefix) && !t.slice(prefix.length).startsWith('_'),
  });
  const applied = await destination.readOffsets();
  const position = new Map<string, bigint>(applied);
  const tables = new Map<string, SinkTable>();

  // The producer creates topics; a sink started first waits for them.
  let topics = await kafka.listTopics();
  for (const deadline = Date.now() + (opts.topicWaitMs ?? 120_000); topics.length === 0 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 500));
    topics = await kafka.listTopics();
  }
  if (topics.length === 0) throw new Error(`sink: no topics ${prefix}* exist in Kafka; start the producer first`);
  log('sink-started', { destination: destination.kind, topics, group: config.groupId });

  const tableFor = async (topic: string, sample: Buffer | null): Promise<SinkTable> => {
    const name = topic.slice(prefix.length);
    const value = sample ? await registry.writerSchema(sample) : await registry.latestSchema(`${topic}-value`);
    const cacheKey = `${name}#${value.id}`;
    let table = tables.get(cacheKey);
    if (!table) {
      const key = await registry.latestSchema(`${topic}-key`);
      table = tableFromSchemas(name, key.schema, value.schema);
      await destination.ensureTable(table);
      tables.set(cacheKey, table);
    }
    return table;
  };

  const handle = async (batch: InBatch) => {
    const from = applied.get(offsetKey(batch.topic, batch.partition)) ?? 0n;
    const fresh = batch.records.filter((r) => r.offset >= from);
    if (fresh.length === 0) return;
    const decoded: DecodedRecord[] = [];
    for (const r of fresh) {
      if (!r.key) throw new Error(`sink: ${batch.topic}/${batch.partition}@${r.offset} has no key; records of ${prefix}* are always keyed`);
      const table = await tableFor(batch.topic, r.value);
      const key = (await registry.decode(r.key)) as Record<string, unknown>;
      const value = r.value ? ((await registry.decode(r.value)) as Record<string, unknown>) : null;
      decoded.push({ table, key, value });
    }
    const now = new Date();
    const changes = reduceBatch(decoded, now);
    const next = fresh[fresh.length - 1]!.offset + 1n;
    await destination.apply(changes, [{ topic: batch.topic, partition: batch.partition, nextOffset: next }]);
    applied.set(offsetKey(batch.topic, batch.partition), next);
    metrics.sinkBatches.inc();
    for (const d of decoded) {
      const op = d.value === null ? 't' : String(d.value.__op);
      metrics.sinkRows.inc({ table: d.table.name, op });
      if (d.value && typeof d.value.__source_ts_ms === 'number') metrics.endToEndLatency.observe(Math.max(0, now.getTime() - d.value.__source_ts_ms) / 1000);
    }
    log('batch-applied', { topic: batch.topic, partition: batch.partition, firstOffset: String(fresh[0]!.offset), lastOffset: String(next - 1n), records: fresh.length });
  };

  const onPosition = (topic: string, partition: number, next: bigint) => {
    const k = offsetKey(topic, partition);
    if ((position.get(k) ?? 0n) < next) position.set(k, next);
  };

  let fail: (e: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const onFatal = (e: Error) => {
    log('sink-failed', { error: e.message });
    fail(e);
  };
  await kafka.run(topics, handle, onPosition, onFatal);
  // Tables enabled later get new topics: join them by re-subscribing (positions come from the destination).
  let refreshing = false;
  const topicTimer = setInterval(() => {
    if (refreshing) return;
    refreshing = true;
    void (async () => {
      const now = await kafka.listTopics();
      if (now.some((t) => !topics.includes(t))) {
        log('sink-topics-changed', { added: now.filter((t) => !topics.includes(t)) });
        topics.splice(0, topics.length, ...now);
        await kafka.stopConsuming();
        await kafka.run(topics, handle, onPosition, onFatal);
      }
    })()
      .catch(onFatal)
      .finally(() => (refreshing = false));
  }, opts.topicRefreshMs ?? 10_000);
  const ends = () => kafka.endOffsets(topics);
  const updateLag = async () => {
    for (const e of await ends()) {
      const pos = position.get(offsetKey(e.topic, e.partition)) ?? 0n;
      metrics.sinkLag.set({ topic: e.topic, partition: String(e.partition) }, Number(e.end > pos ? e.end - pos : 0n));
    }
  };
  const lagTimer = setInterval(() => void updateLag().catch(() => undefined), 2_000);

  return {
    destination,
    topics,
    failed,
    async caughtUp(timeoutMs = 60_000) {
      const targets = await ends();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const behind = targets.filter((t) => (position.get(offsetKey(t.topic, t.partition)) ?? 0n) < t.end);
        if (behind.length === 0) return updateLag();
        if (Date.now() > deadline) throw new Error(`sink: not caught up after ${timeoutMs} ms: ${behind.map((b) => `${b.topic}/${b.partition}`).join(', ')}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      clearInterval(lagTimer);
      clearInterval(topicTimer);
      await kafka.close();
      await destination.close();
    },
  };
}
