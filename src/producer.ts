import { tableByName } from './catalog/index.ts';
import { historyOf, type TableSpec } from './catalog/types.ts';
import type { ChangeBatch } from './capture/change.ts';
import { deleteGuard } from './capture/delete-guard.ts';
import { KeyIndex } from './capture/key-index.ts';
import { initialOffset } from './capture/offset.ts';
import { TableScheduler, type SchedulerResult } from './capture/scheduler.ts';
import { needsKeyIndex } from './capture/sources.ts';
import { TableRuntime } from './capture/table-runtime.ts';
import type { PipedriveSettings, ProducerConfig } from './config.ts';
import { KafkaError } from './kafka/errors.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import { ApiTokenAuth, type PipedriveAuth } from './pipedrive/auth.ts';
import { PipedriveClient } from './pipedrive/client.ts';
import { PipedriveError } from './pipedrive/errors.ts';
import { RateGovernor } from './pipedrive/governor.ts';
import { OAuthAuth } from './pipedrive/oauth.ts';
import { OAuthServer } from './pipedrive/oauth-server.ts';
import { TokenStore } from './pipedrive/token-store.ts';
import { pipedriveDispatcher } from './pipedrive/transport.ts';
import type { Row } from './pipedrive/row.ts';
import { connectProducerKafka } from './publish/kafkajs-kafka.ts';
import { HASH_HEADER, Publisher, SOURCE_TS_HEADER } from './publish/publisher.ts';
import { offsetsFromState } from './publish/state.ts';
import { Registry, RegistryError } from './registry/client.ts';
import type { Dispatcher } from 'undici';
import { Aborted, backoffMs, describeError, isRetriable, sleepUnlessAborted, type Dependency } from './retry.ts';

export interface ProducerRun {
  /**
   * Resolves when the producer stopped (after `stop()`, or by itself with `untilCaughtUp`) with the tables
   * that failed for good; rejects on an error waiting cannot fix (fenced, bad credentials, a refused schema).
   */
  readonly done: Promise<SchedulerResult>;
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
const NO_FAILURES: SchedulerResult = { failed: new Map() };

/**
 * The producer: pipedrive → capture → publish. A session connects to Kafka (fencing any older instance),
 * resumes every table from the state topic and polls them; every batch is one Kafka transaction holding its
 * records and the table's new offset. When Kafka fails in a way waiting can fix, the session ends and a new
 * one starts after a backoff — reconnecting completes or aborts the transaction in flight and the state is
 * read again, so whatever the outcome of the failed commit, nothing is lost or published twice.
 */
export function startProducer(config: ProducerConfig, opts: ProducerRunOptions): ProducerRun {
  const { metrics, log } = opts;
  const abort = new AbortController();
  const connector = config.connectorName;
  const onRetry = (dependency: Dependency) => metrics.retries.inc({ connector, dependency });
  // A labelled counter has no series until it is first counted: start the token count at 0, so rates and
  // increases over it are 0 rather than empty for an API that does not report token costs.
  metrics.apiTokensSpent.inc({ connector }, 0);
  const governor = new RateGovernor({
    dailyProbeMs: config.dailyBudgetProbeMs,
    onBudgetExhausted: (resetAtMs) => log('daily-budget-exhausted', { resetsAt: new Date(resetAtMs).toISOString() }),
  });
  // One dispatcher (proxies) for the API and the OAuth server. The auth reads its token file here, so a
  // missing one stops the producer before it connects to anything.
  const dispatcher = pipedriveDispatcher({ proxy: config.pipedrive.proxy });
  const client = new PipedriveClient({
    auth: pipedriveAuth(config.pipedrive, dispatcher, log),
    dispatcher,
    governor,
    log,
    onRetry: () => onRetry('pipedrive'),
    onResponse: ({ endpoint, status, tokenCost, headers }) => {
      metrics.apiRequests.inc({ connector, endpoint, status: String(status) });
      if (tokenCost > 0) metrics.apiTokensSpent.inc({ connector }, tokenCost);
      const remaining = Number(headers['x-ratelimit-remaining']);
      if (Number.isFinite(remaining)) metrics.apiRateLimitRemaining.set({ connector }, remaining);
      const daily = Number(headers['x-daily-ratelimit-token-remaining']);
      if (headers['x-daily-ratelimit-token-remaining'] !== undefined && Number.isFinite(daily)) metrics.apiDailyTokensRemaining.set({ connector }, daily);
    },
  });
  const registry = new Registry(config.schemaRegistryUrl, { auth: config.schemaRegistryAuth, log, onRetry: () => onRetry('registry'), signal: abort.signal });
  const guard = deleteGuard({
    maxShare: config.deleteGuardMaxShare,
    confirmed: new Set(config.deleteGuardConfirm),
    log,
    onRefused: (table, refused) => metrics.deletesRefused.set({ connector, table }, refused ? 1 : 0),
  });

  /** When the last pass over each table that reached its end started: everything older is in Kafka. */
  const caughtUpAt = new Map<string, number>();
  const freshnessTimer = setInterval(() => {
    for (const [table, at] of caughtUpAt) metrics.sourceFreshness.set({ connector, table }, (Date.now() - at) / 1000);
  }, 1000);

  const session = async (resumed: () => void): Promise<SchedulerResult> => {
    const specs = config.tables.map(tableByName).filter((s) => s.sync.kind !== 'child' && s.sync.kind !== 'history' && s.sync.kind !== 'changelog');
    // Child, history and change-log tables come with their table.
    const companions = specs.flatMap((s) => [...(s.children ?? []).map((c) => tableByName(c.table)), ...(s.history ? [historyOf(s)!] : []), ...(s.changelog ? [tableByName(s.changelog.table)] : [])]);
    const kafka = await connectProducerKafka({ brokers: config.kafkaBrokers, security: config.kafkaSecurity, clientId: config.connectorName, transactionalId: `${config.connectorName}.producer`, log });
    try {
      const publisher = new Publisher(kafka, registry, {
        topicPrefix: config.topicPrefix,
        connector: config.connectorName,
        partitions: config.topicPartitions,
        replicationFactor: config.topicReplicationFactor,
        minInsyncReplicas: config.topicMinInsyncReplicas,
      });
      const offsets = offsetsFromState(config.connectorName, await kafka.readCompacted(publisher.stateTopic));
      const indexes = new Map<string, KeyIndex>();
      const indexed = [...specs, ...companions].filter(needsKeyIndex);
      const keys = await kafka.readKeys(indexed.map((s) => publisher.topicOf(s.name)));
      for (const spec of indexed) {
        const index = new KeyIndex(spec);
        for (const { key, live, headers } of keys.get(publisher.topicOf(spec.name)) ?? []) {
          const ts = headers[SOURCE_TS_HEADER];
          index.load((await registry.decode(key)) as Row, live, ts === undefined ? undefined : Number(ts), headers[HASH_HEADER]);
        }
        indexes.set(spec.name, index);
      }
      const tables = specs.map((spec) => {
        const start = offsets.get(spec.name) ?? initialOffset;
        log('table-resumed', {
          table: spec.name,
          cursor: start.cursorMs === null ? null : new Date(start.cursorMs).toISOString(),
          snapshotDone: start.snapshotDone,
          ...(start.import ? { importInProgress: true } : {}),
        });
        return new TableRuntime(spec, client, { tableOf: tableByName, indexes, budgetLow: () => governor.budgetLow(), deleteGuard: guard, latenessMs: config.latenessWindowMs }, start, { historyRebuild: config.historyRebuild });
      });
      /** Registers a table's current schemas (and its history table's), creating topics on first use. */
      const prepare = (t: TableRuntime) => publisher.prepare([t.spec, ...(t.spec.history ? [historyOf(t.spec)!] : [])]);
      /**
       * A pass ended: custom column names frozen during it are committed if no batch carried them — a
       * table with nothing to publish (a re-import that found no change) would otherwise never store them,
       * and a field renamed before its next batch would get its column from the new name.
       */
      const passEnded = async (t: TableRuntime) => {
        const names = t.withNames(t.lastCommitted);
        if (JSON.stringify(names.customColumns ?? {}) === JSON.stringify(t.lastCommitted.customColumns ?? {})) return;
        const batch: ChangeBatch = { table: t.base.name, events: [], offset: names };
        await publish(t, batch);
        t.committed(batch);
      };
      // Tables with custom fields register their schemas once their field catalog is read (by the scheduler).
      const dynamic = (s: TableSpec) => s.customFields !== undefined || (s.sync.kind === 'history' && tableByName(s.sync.of).customFields !== undefined);
      await publisher.prepare([...specs, ...companions].filter((s) => !dynamic(s)));

      const publish = async (t: TableRuntime, batch: ChangeBatch) => {
        const full: ChangeBatch = { ...batch, offset: t.withNames(batch.offset) };
        try {
          const n = await publisher.publish(full);
          metrics.transactions.inc({ connector, result: 'committed' });
          log('batch-committed', { table: batch.table, records: n, cursor: batch.offset.cursorMs === null ? null : new Date(batch.offset.cursorMs).toISOString() });
        } catch (err) {
          metrics.transactions.inc({ connector, result: 'aborted' });
          throw err;
        }
        for (const ev of full.events) {
          indexes.get(ev.table)?.apply(ev);
          metrics.recordsProduced.inc({ connector, table: ev.table, op: ev.op });
        }
      };
      const scheduler = new TableScheduler({
        tables,
        publish,
        schemaChanged: prepare,
        passEnded,
        budgetLow: () => governor.budgetLow(),
        serverNowMs: () => client.serverNowMs(),
        log,
        pollIntervalMs: config.pollIntervalMs,
        failedTableRetryMs: config.failedTableRetryMs,
        customFieldsRefreshMs: CUSTOM_FIELDS_REFRESH_MS,
        hooks: {
          onPoll: (table, seconds) => metrics.pollDuration.observe({ connector, table }, seconds),
          onCaughtUp: (table, passStartedMs) => {
            metrics.lastPollSuccess.set({ connector, table }, Date.now() / 1000);
            caughtUpAt.set(table, passStartedMs);
          },
          onFailing: (table, failing) => metrics.tableFailing.set({ connector, table }, failing ? 1 : 0),
          onRetry: () => onRetry('pipedrive'),
        },
      });
      resumed();
      return await scheduler.run(abort.signal, opts.untilCaughtUp === true);
    } finally {
      await kafka.close();
    }
  };

  /** Sessions until stopped, caught up, or stopped by an error waiting cannot fix. */
  const supervise = async (): Promise<SchedulerResult> => {
    const what = 'the producer session (reconnecting, then resuming from the state topic)';
    let failures = 0;
    let lastDependency: Dependency = 'kafka';
    // Called once a session has resumed every table: the outage that ended the previous one is over.
    const resumed = () => {
      if (failures > 0) log('recovered', { dependency: lastDependency, what, attempts: failures + 1 });
      failures = 0;
    };
    while (!abort.signal.aborted) {
      try {
        return await session(resumed);
      } catch (err) {
        if (abort.signal.aborted || err instanceof Aborted) break;
        if (!isRetriable(err)) throw err;
        failures++;
        const delayMs = backoffMs(failures - 1);
        lastDependency = dependencyOf(err);
        log('retrying', { dependency: lastDependency, what, attempt: failures, delayMs, error: describeError(err) });
        onRetry(lastDependency);
        await sleepUnlessAborted(delayMs, abort.signal).catch(() => undefined);
      }
    }
    return NO_FAILURES;
  };

  const done = supervise().finally(async () => {
    clearInterval(freshnessTimer);
    await client.close().catch(() => undefined);
    await dispatcher.close().catch(() => undefined);
    await registry.close().catch(() => undefined);
  });
  done.catch(() => undefined);
  return {
    done,
    async stop() {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}

/** The API token, or OAuth with its token file and the app's credentials. */
export function pipedriveAuth(settings: PipedriveSettings, dispatcher: Dispatcher, log: Logger): PipedriveAuth {
  const a = settings.auth;
  if (a.kind === 'api-token') return new ApiTokenAuth(a.baseUrl, a.apiToken);
  return new OAuthAuth({
    server: new OAuthServer({ oauthUrl: a.oauthUrl, clientId: a.clientId, clientSecret: a.clientSecret, dispatcher }),
    store: new TokenStore(a.tokenFile),
    clientId: a.clientId,
    allowInsecureHttp: settings.allowInsecureHttp,
    log,
  });
}

function dependencyOf(err: unknown): Dependency {
  if (err instanceof KafkaError) return 'kafka';
  if (err instanceof RegistryError) return 'registry';
  if (err instanceof PipedriveError) return 'pipedrive';
  return 'kafka';
}
