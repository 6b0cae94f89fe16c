import { setMaxListeners } from 'node:events';
import type { SinkConfig } from '../config.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { Registry } from '../registry/client.ts';
import { describeError, isRetriable, sleepUnlessAborted, withRetries, type Dependency } from '../retry.ts';
import { openDuckDb } from './destinations/duckdb.ts';
import { openPostgres } from './destinations/postgres.ts';
import { connectSinkKafka } from './kafkajs-kafka.ts';
import { FIVETRAN_NAMING, NATIVE_NAMING, offsetKey, type Destination } from './model.ts';
import { DestinationTask } from './task.ts';

export interface SinkRun {
  readonly destination: Destination;
  /** The topics being consumed (grows when the producer creates new tables). */
  readonly topics: readonly string[];
  /** Rejects when the sink stopped on an error waiting cannot fix (a record it cannot apply, refused credentials, …). */
  readonly failed: Promise<never>;
  /** Resolves when every partition's applied position reached the log end offsets taken now. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function openDestination(config: SinkConfig): Promise<Destination> {
  return config.destination === 'postgres' ? openPostgres(config.databaseUrl!, config.databaseSchema) : openDuckDb(config.duckdbPath);
}

/**
 * The sink: Kafka topics → destination tables (the SinkTask in task.ts does the applying). Startup waits
 * out unreachable services (database, registry, Kafka) with logged, counted retries; failures waiting
 * cannot fix (a DuckDB file another sink holds, refused credentials, a registry URL without the Confluent
 * API) end it with a message naming what failed.
 */
export async function startSink(
  config: SinkConfig,
  opts: {
    metrics: Metrics;
    log: Logger;
    topicWaitMs?: number;
    topicRefreshMs?: number;
    /** Wraps the opened destination (a benchmark notes when rows commit; DuckDB lets no other reader in meanwhile). */
    wrapDestination?: (d: Destination) => Destination;
  },
): Promise<SinkRun> {
  const { metrics, log } = opts;
  const stopping = new AbortController();
  // The registry's requests listen on it, one per topic at once when tables are widened: more than Node's
  // default of 10 listeners is expected, not a leak (each is removed when its request ends).
  setMaxListeners(64, stopping.signal);
  const onRetry = (d: Dependency) => metrics.retries.inc({ dependency: d });
  const retry = <T>(dependency: Dependency, what: string, fn: () => Promise<T>) => withRetries(fn, { dependency, what, log, onRetry, signal: stopping.signal });
  const prefix = `${config.topicPrefix}.`;

  const opened = await retry('database', 'opening the destination', () => openDestination(config));
  const destination = opts.wrapDestination ? opts.wrapDestination(opened) : opened;
  const cleanup: Array<() => Promise<void>> = [() => destination.close()];
  const closeAll = async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
  };
  try {
    // No retries inside the client: the task retries each call under its own signals (a revoked partition).
    const schemas = new Registry(config.schemaRegistryUrl, { auth: config.schemaRegistryAuth, retries: false, signal: stopping.signal });
    cleanup.push(() => schemas.close());
    await retry('registry', 'checking the schema registry', () => schemas.check());
    const kafka = await retry('kafka', 'connecting to Kafka', () =>
      connectSinkKafka({
        brokers: config.kafkaBrokers,
        security: config.kafkaSecurity,
        clientId: `${config.connectorName}-sink`,
        groupId: config.groupId,
        sessionTimeoutMs: config.sessionTimeoutMs,
        topicFilter: (t) => t.startsWith(prefix) && !t.slice(prefix.length).startsWith('_'),
        log,
        onRetry,
      }),
    );
    cleanup.push(() => kafka.close());

    // The producer creates topics; a sink started first waits for them.
    const listTopics = () => retry('kafka', 'listing topics', () => kafka.listTopics());
    let topics = await listTopics();
    for (const deadline = Date.now() + (opts.topicWaitMs ?? 120_000); topics.length === 0 && Date.now() < deadline; ) {
      await sleepUnlessAborted(500, stopping.signal);
      topics = await listTopics();
    }
    if (topics.length === 0) throw new Error(`sink: no topics ${prefix}* exist in Kafka; start the producer first`);
    log('sink-started', { destination: destination.kind, where: destination.where, topics, group: config.groupId });

    let fail: (e: Error) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => undefined);
    const onFatal = (e: Error) => {
      log('sink-failed', { error: describeError(e) });
      fail(e);
    };
    const naming = config.naming === 'fivetran' ? FIVETRAN_NAMING : NATIVE_NAMING;
    const task = new DestinationTask({ destination, schemas, kafka, prefix, metrics, log, stopped: stopping.signal, maxTransactionRecords: config.maxTransactionRecords, naming });
    // Runs first when stopping: the transaction in flight (put returns before its batch commits) ends before
    // the consumer, the registry and the database close.
    cleanup.push(() => task.idle());
    const position = new Map<string, bigint>();
    const onPosition = (topic: string, partition: number, next: bigint) => {
      const k = offsetKey(topic, partition);
      if ((position.get(k) ?? 0n) < next) position.set(k, next);
    };
    await kafka.run(topics, task, onPosition, onFatal);

    // Tables enabled later get new topics: join them by re-subscribing (positions come from the destination).
    // A failed look (Kafka away) is tried again at the next tick.
    let refreshing: Promise<void> | undefined;
    const refreshTopics = () =>
      (refreshing ??= (async () => {
        const now = await kafka.listTopics();
        if (now.some((t) => !topics.includes(t))) {
          log('sink-topics-changed', { added: now.filter((t) => !topics.includes(t)) });
          topics.splice(0, topics.length, ...now);
          await kafka.stopConsuming();
          await kafka.run(topics, task, onPosition, onFatal);
        }
      })().finally(() => (refreshing = undefined)));
    const topicTimer = setInterval(() => {
      if (refreshing) return;
      refreshTopics().catch((err: unknown) => {
        if (!isRetriable(err)) return onFatal(err instanceof Error ? err : new Error(String(err)));
        log('retrying', { dependency: 'kafka', what: 'looking for new topics', error: describeError(err), delayMs: opts.topicRefreshMs ?? 10_000 });
        onRetry('kafka');
      });
    }, opts.topicRefreshMs ?? 10_000);
    cleanup.push(async () => clearInterval(topicTimer));

    const ends = () => kafka.watermarks(topics);
    const updateLag = async () => {
      for (const e of await ends()) {
        const pos = position.get(offsetKey(e.topic, e.partition)) ?? 0n;
        metrics.sinkLag.set({ topic: e.topic, partition: String(e.partition) }, Number(e.high > pos ? e.high - pos : 0n));
      }
    };
    const lagTimer = setInterval(() => void updateLag().catch(() => undefined), 2_000);
    cleanup.push(async () => clearInterval(lagTimer));

    return {
      destination,
      topics,
      failed,
      async caughtUp(timeoutMs = 60_000) {
        // Caught up with every topic there is now, including ones the producer created since the last look.
        await refreshTopics();
        const targets = await ends();
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const behind = targets.filter((t) => (position.get(offsetKey(t.topic, t.partition)) ?? 0n) < t.high);
          if (behind.length === 0) return updateLag();
          if (Date.now() > deadline) throw new Error(`sink: not caught up after ${timeoutMs} ms: ${behind.map((b) => `${b.topic}/${b.partition}`).join(', ')}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      async stop() {
        stopping.abort();
        await closeAll();
      },
    };
  } catch (err) {
    stopping.abort();
    await closeAll();
    throw err;
  }
}
