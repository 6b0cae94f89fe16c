import { setTimeout as sleepFor } from 'node:timers/promises';
import { tableByName } from './catalog/index.ts';
import { historyOf, type TableSpec } from './catalog/types.ts';
import type { ChangeBatch, ChangeEvent } from './capture/change.ts';
import { rebuildVersions } from './capture/changelog-history.ts';
import { CustomFieldsChanged } from './capture/emit.ts';
import { KeyIndex } from './capture/key-index.ts';
import { initialOffset } from './capture/offset.ts';
import { needsKeyIndex } from './capture/sources.ts';
import { TableRuntime } from './capture/table-runtime.ts';
import type { ProducerConfig } from './config.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import { PipedriveClient } from './pipedrive/client.ts';
import { RateGovernor } from './pipedrive/governor.ts';
import type { Row } from './pipedrive/row.ts';
import { connectProducerKafka } from './publish/kafkajs-kafka.ts';
import { Publisher } from './publish/publisher.ts';
import { offsetsFromState } from './publish/state.ts';
import { Registry } from './registry/client.ts';

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

/** How often the field catalogs are read again (a row with an unknown custom field triggers a read at once). */
const CUSTOM_FIELDS_REFRESH_MS = 15 * 60_000;

/**
 * The producer: pipedrive → capture → publish. Resumes every table from the state topic, then polls the
 * tables in turn; every batch is one Kafka transaction holding its records and the table's new offset.
 */
export async function startProducer(config: ProducerConfig, opts: ProducerRunOptions): Promise<ProducerRun> {
  const { metrics, log } = opts;
  const specs = config.tables.map(tableByName).filter((s) => s.sync.kind !== 'child' && s.sync.kind !== 'history' && s.sync.kind !== 'changelog');
  // Child, history and change-log tables come with their table.
  const companions = specs.flatMap((s) => [
    ...(s.children ?? []).map((c) => tableByName(c.table)),
    ...(s.history ? [historyOf(s)!] : []),
    ...(s.changelog ? [tableByName(s.changelog.table)] : []),
  ]);
  const governor = new RateGovernor({
    dailyProbeMs: config.dailyBudgetProbeMs,
    onBudgetExhausted: (resetAtMs) => log('daily-budget-exhausted', { resetsAt: new Date(resetAtMs).toISOString() }),
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
  const kafka = await connectProducerKafka({ brokers: config.kafkaBrokers, clientId: config.connectorName, transactionalId: `${config.connectorName}.producer` });
  const registry = new Registry(config.schemaRegistryUrl);
  const publisher = new Publisher(kafka, registry, { topicPrefix: config.topicPrefix, connector: config.connectorName, partitions: config.topicPartitions });

  const offsets = offsetsFromState(config.connectorName, await kafka.readCompacted(publisher.stateTopic));
  const indexes = new Map<string, KeyIndex>();
  for (const spec of [...specs, ...companions].filter(needsKeyIndex)) {
    const index = new KeyIndex(spec);
    for (const { key, live } of await kafka.readKeys(publisher.topicOf(spec.name))) index.load((await registry.decode(key)) as Row, live);
    indexes.set(spec.name, index);
  }
  const tables = specs.map((spec) => {
    const start = offsets.get(spec.name) ?? initialOffset;
    log('table-resumed', { table: spec.name, cursor: start.cursorMs === null ? null : new Date(start.cursorMs).toISOString(), snapshotDone: start.snapshotDone });
    return new TableRuntime(spec, client, { tableOf: tableByName, indexes, budgetLow: () => governor.budgetLow() }, start);
  });
  const byName = new Map(tables.map((t) => [t.base.name, t]));
  /** Registers a table's current schemas (and its history table's), creating topics on first use. */
  const prepare = (t: TableRuntime) => publisher.prepare([t.spec, ...(t.spec.history ? [historyOf(t.spec)!] : [])]);
  // Tables with custom fields register their schemas once their field catalog is read.
  const dynamic = (s: TableSpec) => s.customFields !== undefined || (s.sync.kind === 'history' && tableByName(s.sync.of).customFields !== undefined);
  await publisher.prepare([...specs, ...companions].filter((s) => !dynamic(s)));
  for (const t of tables.filter((t) => t.base.customFields)) {
    await t.refreshCustomFields();
    await prepare(t);
  }

  const abort = new AbortController();
  const sleep = (ms: number) => sleepFor(ms, undefined, { signal: abort.signal }).catch(() => undefined);
  /** When the last pass over each table that reached its end started: everything older is in Kafka. */
  const caughtUpAt = new Map<string, number>();
  const freshnessTimer = setInterval(() => {
    for (const [table, at] of caughtUpAt) metrics.sourceFreshness.set({ table }, (Date.now() - at) / 1000);
  }, 1000);

  /**
   * Every version also goes to the table's history topic (no tombstones there); with a changelog, the
   * versions polling missed are rebuilt first, and the field changes published.
   */
  const withHistory = async (t: TableRuntime, events: readonly ChangeEvent[], afterMs: number | null): Promise<ChangeEvent[]> => {
    const out: ChangeEvent[] = [];
    const publishedUpTo = new Map<string, number | null>();
    for (const ev of events) {
      out.push(ev);
      const spec = byName.get(ev.table)?.spec;
      if (!spec?.history) continue;
      const changelog = spec.changelog;
      const created = spec.createdField ? ev.row[spec.createdField] : undefined;
      // A row never changed since its creation second has nothing in its changelog: skip the call.
      const rebuild = config.historyRebuild === 'all' || (config.historyRebuild === 'changes' && ev.op !== 'r');
      if (changelog && rebuild && ev.op !== 'd' && ev.raw !== undefined && created !== ev.sourceTsMs) {
        const key = JSON.stringify(ev.key);
        const rebuilt = await rebuildVersions(
          {
            spec,
            changelog,
            changeTable: tableByName(changelog.table),
            client,
            customDefs: t.ctx.customDefs ?? [],
            raw: ev.raw,
            row: ev.row,
            afterMs: ev.op === 'r' ? null : publishedUpTo.has(key) ? publishedUpTo.get(key)! : afterMs,
            op: ev.op,
          },
          abort.signal,
        );
        publishedUpTo.set(key, ev.sourceTsMs);
        out.push(...rebuilt.versions.map((v) => ({ ...v, table: spec.history! })), { ...ev, table: spec.history }, ...rebuilt.changes);
        continue;
      }
      out.push({ ...ev, table: spec.history });
    }
    return out;
  };

  const publish = async (t: TableRuntime, batch: ChangeBatch) => {
    const events = await withHistory(t, batch.events, t.lastCommitted.cursorMs);
    const full: ChangeBatch = { ...batch, events, offset: t.withNames(batch.offset) };
    try {
      const n = await publisher.publish(full);
      metrics.transactions.inc({ result: 'committed' });
      log('batch-committed', { table: batch.table, records: n, cursor: batch.offset.cursorMs === null ? null : new Date(batch.offset.cursorMs).toISOString() });
    } catch (err) {
      metrics.transactions.inc({ result: 'aborted' });
      throw err;
    }
    t.source.committed(full);
    t.lastCommitted = full.offset;
    for (const ev of events) {
      indexes.get(ev.table)?.apply(ev);
      metrics.recordsProduced.inc({ table: ev.table, op: ev.op });
    }
  };

  /** Drains one table's pending batches; true when anything was published. */
  const pollTable = async (t: TableRuntime): Promise<boolean> => {
    let published = false;
    const passStarted = Date.now();
    if (t.customFieldsDue(Date.now(), CUSTOM_FIELDS_REFRESH_MS) && (await t.refreshCustomFields(abort.signal))) await prepare(t);
    for (;;) {
      const end = metrics.pollDuration.startTimer({ table: t.base.name });
      let batch: ChangeBatch | null;
      try {
        batch = await t.source.poll(abort.signal);
      } catch (err) {
        if (!(err instanceof CustomFieldsChanged)) throw err;
        log('custom-fields-changed', { table: t.base.name });
        if (await t.refreshCustomFields(abort.signal)) await prepare(t);
        continue;
      } finally {
        end();
      }
      if (!batch) {
        metrics.lastPollSuccess.set({ table: t.base.name }, Date.now() / 1000);
        caughtUpAt.set(t.base.name, passStarted);
        return published;
      }
      await publish(t, batch);
      published = true;
    }
  };

  const loop = async () => {
    for (let round = 0; !abort.signal.aborted; round++) {
      let moved = false;
      let deferred = false;
      // Each round starts at the next table, so a scarce budget is shared instead of spent on the first ones.
      const order = tables.map((_, i) => tables[(i + round) % tables.length]!);
      for (const t of order) {
        if (abort.signal.aborted) break;
        if (governor.budgetLow() && t.source.startsBackfill?.(client.serverNowMs())) {
          log('backfill-deferred', { table: t.base.name, dailyTokensRemaining: governor.dailyTokensRemaining });
          deferred = true;
          continue;
        }
        moved = (await pollTable(t)) || moved;
      }
      // Caught up means nothing moved and nothing waits for budget.
      if (!moved && !deferred && opts.untilCaughtUp) break;
      // With the day's budget low, poll less often so incremental reads last until the reset.
      if (!moved) await sleep(governor.budgetLow() ? config.pollIntervalMs * 10 : config.pollIntervalMs);
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

