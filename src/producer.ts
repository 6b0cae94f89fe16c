import { setTimeout as sleepFor } from 'node:timers/promises';
import { tableByName } from './catalog/index.ts';
import { KeyIndex } from './capture/key-index.ts';
import { initialOffset } from './capture/offset.ts';
import { needsKeyIndex, sourceFor } from './capture/sources.ts';
import type { TableSource } from './capture/table-source.ts';
import type { Row } from './pipedrive/row.ts';
import type { ProducerConfig } from './config.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import { PipedriveClient } from './pipedrive/client.ts';
import { RateGovernor } from './pipedrive/governor.ts';
import { connectProducerKafka } from './publish/kafkajs-kafka.ts';
import { Publisher } from './publish/publisher.ts';
import { Registry } from './registry/client.ts';
import { offsetsFromState } from './publish/state.ts';

export interface ProducerRun {
  /** Resolves when the producer stopped (after `stop()`, or by itself with `untilCaughtUp`). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface ProducerRunOptions {
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Stop once every table has reached its end (used by `run --once`, tests and benchmarks). */
  readonly untilCaughtUp?: boolean;
}

/**
 * The producer: pipedrive → capture → publish. Resumes every table from the state topic, then polls the
 * tables in turn; every page is one Kafka transaction holding its records and the table's new offset.
 */
export async function startProducer(config: ProducerConfig, opts: ProducerRunOptions): Promise<ProducerRun> {
  const { metrics, log } = opts;
  const specs = config.tables.map(tableByName).filter((s) => s.sync.kind !== 'child');
  // Child tables come with their parent, at no extra API cost.
  const published = [...specs, ...specs.flatMap((s) => (s.children ?? []).map((c) => tableByName(c.table)))];
  const governor = new RateGovernor({
    onWait: (reason, ms) => {
      if (reason === 'daily-budget') log('daily-budget-exhausted', { waitMs: Math.round(ms) });
    },
  });
  const client = new PipedriveClient({
    baseUrl: config.pipedriveBaseUrl,
    apiToken: config.pipedriveApiToken,
    governor,
    onResponse: ({ endpoint, status, tokenCost, headers }) => {
      metrics.apiRequests.inc({ endpoint, status: String(status) });
      if (tokenCost > 0) metrics.apiTokensSpent.inc(tokenCost);
      const remaining = Number(headers['x-ratelimit-remaining']);
      if (Number.isFinite(remaining)) metrics.apiRateLimitRemaining.set(remaining);
      const daily = Number(headers['x-daily-ratelimit-token-remaining']);
      if (headers['x-daily-ratelimit-token-remaining'] !== undefined && Number.isFinite(daily)) metrics.apiDailyTokensRemaining.set(daily);
    },
  });
  const kafka = await connectProducerKafka({
    brokers: config.kafkaBrokers,
    clientId: config.connectorName,
    transactionalId: `${config.connectorName}.producer`,
  });
  const registry = new Registry(config.schemaRegistryUrl);
  const publisher = new Publisher(kafka, registry, {
    topicPrefix: config.topicPrefix,
    connector: config.connectorName,
    partitions: config.topicPartitions,
  });
  await publisher.prepare(published);
  const offsets = offsetsFromState(config.connectorName, await kafka.readCompacted(publisher.stateTopic));
  const indexes = new Map<string, KeyIndex>();
  for (const spec of published.filter(needsKeyIndex)) {
    const index = new KeyIndex(spec);
    for (const { key, live } of await kafka.readKeys(publisher.topicOf(spec.name))) index.load((await registry.decode(key)) as Row, live);
    indexes.set(spec.name, index);
  }
  const sources: TableSource[] = specs.map((spec) => {
    const start = offsets.get(spec.name) ?? initialOffset;
    log('table-resumed', { table: spec.name, cursor: start.cursorMs === null ? null : new Date(start.cursorMs).toISOString(), snapshotDone: start.snapshotDone });
    return sourceFor(spec, { client, tableOf: tableByName, indexes }, start);
  });

  const abort = new AbortController();
  const sleep = (ms: number) => sleepFor(ms, undefined, { signal: abort.signal }).catch(() => undefined);
  /** When the last pass over each table that reached its end started: everything older is in Kafka. */
  const caughtUpAt = new Map<string, number>();
  const freshnessTimer = setInterval(() => {
    for (const [table, at] of caughtUpAt) metrics.sourceFreshness.set({ table }, (Date.now() - at) / 1000);
  }, 1000);

  const loop = async () => {
    while (!abort.signal.aborted) {
      let moved = false;
      for (const source of sources) {
        if (abort.signal.aborted) break;
        if (governor.budgetLow() && source.startsBackfill?.(client.serverNowMs())) {
          log('backfill-deferred', { table: source.table, dailyTokensRemaining: governor.dailyTokensRemaining });
          continue;
        }
        moved = (await pollTable(source)) || moved;
      }
      if (!moved && opts.untilCaughtUp) break;
      if (!moved) await sleep(config.pollIntervalMs);
    }
  };

  /** Drains one table's pending pages; true when anything was published. */
  const pollTable = async (source: TableSource): Promise<boolean> => {
    let published = false;
    const passStarted = Date.now();
    for (;;) {
      const end = metrics.pollDuration.startTimer({ table: source.table });
      const batch = await source.poll(abort.signal);
      if (!batch) {
        end();
        metrics.lastPollSuccess.set({ table: source.table }, Date.now() / 1000);
        caughtUpAt.set(source.table, passStarted);
        return published;
      }
      try {
        const n = await publisher.publish(batch);
        metrics.transactions.inc({ result: 'committed' });
        log('batch-committed', { table: batch.table, records: n, cursor: batch.offset.cursorMs === null ? null : new Date(batch.offset.cursorMs).toISOString() });
      } catch (err) {
        metrics.transactions.inc({ result: 'aborted' });
        throw err;
      } finally {
        end();
      }
      source.committed(batch);
      for (const ev of batch.events) {
        indexes.get(ev.table)?.apply(ev);
        metrics.recordsProduced.inc({ table: ev.table, op: ev.op });
      }
      published = true;
    }
  };

  const done = loop()
    .catch((err) => {
      if (!abort.signal.aborted) throw err;
    })
    .finally(async () => {
      clearInterval(freshnessTimer);
      await kafka.close().catch(() => undefined);
      await client.close().catch(() => undefined);
    });
  return {
    done,
    async stop() {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}
