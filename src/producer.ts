import { setMaxListeners } from 'node:events';
import { catalog, tableByName } from './catalog/index.ts';
import { historyOf, type TableSpec } from './catalog/types.ts';
import type { ChangeBatch } from './capture/change.ts';
import { deleteGuard } from './capture/delete-guard.ts';
import { keyString, type KeyIndex } from './capture/key-index.ts';
import { initialOffset } from './capture/offset.ts';
import { TableScheduler, type SchedulerResult } from './capture/scheduler.ts';
import { needsKeyIndex } from './capture/sources.ts';
import { TableRuntime } from './capture/table-runtime.ts';
import type { ProducerConfig } from './config.ts';
import { KafkaError } from './kafka/errors.ts';
import type { ConnectorStatus, TableStatus } from './admin/status.ts';
import { ConnectorSettingsStore } from './connector-settings.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import { PipedriveError } from './pipedrive/errors.ts';
import type { TokenStorage } from './pipedrive/token-store.ts';
import { connectProducerKafka } from './publish/kafkajs-kafka.ts';
import type { OutRecord } from './publish/kafka.ts';
import { Publisher, SEALED_KEY_HEADER } from './publish/publisher.ts';
import { kafkaSettingsLog } from './publish/settings-log.ts';
import { loadIndexes } from './producer-indexes.ts';
import { knownTablesFromState, knownTablesKey, offsetsFromState } from './publish/state.ts';
import { Registry, RegistryError } from './registry/client.ts';
import { producerApi } from './producer-api.ts';
import { Resyncs, type ResyncResult } from './producer-resync.ts';
import { producerWebhooks } from './producer-webhooks.ts';
import { Aborted, backoffMs, describeError, isRetriable, sleepUnlessAborted, type Dependency } from './retry.ts';

export interface ProducerRun {
  /**
   * Resolves when the producer stopped (after `stop()`, or by itself with `untilCaughtUp`) with the tables
   * that failed for good; rejects on an error waiting cannot fix (fenced, bad credentials, a refused schema).
   */
  readonly done: Promise<SchedulerResult>;
  /** Stops the producer; `removeWebhooks`: also delete its webhook subscriptions (the connector is removed). */
  stop(opts?: { removeWebhooks?: boolean }): Promise<void>;
  /** The connector's tables with their sync state, for the admin API. */
  status(): ConnectorStatus;
  /**
   * Re-syncs tables (or all of them): each starts over at its next batch boundary, its sinks end equal to
   * Pipedrive (src/producer-resync.ts). Resolves once every table's first re-sync transaction committed;
   * rejects at once for a table the connector does not sync.
   */
  resync(tables: readonly string[] | 'all'): Promise<ResyncResult>;
  /** The connector's runtime settings (rules, pause), changed through the admin API. */
  readonly settings: ConnectorSettingsStore;
}

export interface ProducerRunOptions {
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Stop once every table has reached its end (used by `run --once`, tests and benchmarks). */
  readonly untilCaughtUp?: boolean;
  /** Where OAuth tokens are kept instead of the token file (connectors created through the admin API). */
  readonly tokenStorage?: TokenStorage;
}

/**
 * How often the field catalogs are read again. A row carrying an unknown custom field key already triggers
 * a read at once, and column names are frozen at first sight, so the periodic read only brings new or
 * relabelled enum/set options (their labels are null until then): hourly, 6 catalogs × 10 tokens × 24 =
 * 1,440 tokens a day instead of 5,760 at the earlier 15 minutes.
 */
const CUSTOM_FIELDS_REFRESH_MS = 60 * 60_000;
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
  // Every registry and Pipedrive request listens on it, several at once (schemas are registered in parallel):
  // more than Node's default of 10 listeners is expected, not a leak (each is removed when its request ends).
  setMaxListeners(64, abort.signal);
  const connector = config.connectorName;
  const onRetry = (dependency: Dependency) => metrics.retries.inc({ connector, dependency });
  // A labelled counter has no series until it is first counted: start the token count at 0, so rates and
  // increases over it are 0 rather than empty for an API that does not report token costs.
  metrics.apiTokensSpent.inc({ connector }, 0);
  const api = producerApi(config, { metrics, log, onRetry, tokenStorage: opts.tokenStorage, budget: (b) => Object.assign(view, b) });
  const { client, governor, spend, pacer } = api;
  const registry = new Registry(config.schemaRegistryUrl, { auth: config.schemaRegistryAuth, log, onRetry: () => onRetry('registry'), signal: abort.signal });
  const guard = deleteGuard({
    maxShare: config.deleteGuardMaxShare,
    confirmed: new Set(config.deleteGuardConfirm),
    log,
    onRefused: (table, refused) => metrics.deletesRefused.set({ connector, table }, refused ? 1 : 0),
  });

  /** When the last pass over each table that reached its end started: everything older is in Kafka. */
  const caughtUpAt = new Map<string, number>();
  /** What the admin API shows: the session's tables, their troubles, the budget Pipedrive last reported. */
  const view = {
    state: 'starting' as ConnectorStatus['state'],
    tables: [] as TableRuntime[],
    policyHeld: [] as string[],
    trouble: new Map<string, { kind: 'waiting' | 'failed'; error: string }>(),
    dailyTokensRemaining: null as number | null,
    burstRemaining: null as number | null,
    blockedColumns: (_t: TableRuntime): ReadonlySet<string> => new Set<string>(),
  };
  const resyncs = new Resyncs(connector, config.tables.map(tableByName).filter((s) => !['child', 'history', 'changelog'].includes(s.sync.kind)).map((s) => s.name));
  const settings = new ConnectorSettingsStore({
    connector,
    fileRules: config.rules,
    logger: log,
    log: kafkaSettingsLog({
      topicPrefix: config.topicPrefix,
      connector,
      replicationFactor: config.topicReplicationFactor,
      minInsyncReplicas: config.topicMinInsyncReplicas,
      connect: (transactionalId) => connectProducerKafka({ brokers: config.kafkaBrokers, security: config.kafkaSecurity, clientId: `${connector}-settings`, transactionalId, log }),
    }),
  });
  // Webhooks (WEBHOOK_PUBLIC_URL): hints that make a table's pass happen now; the poll stays the truth.
  // A one-off run (`run --once`) ends when caught up: it neither receives nor registers any.
  const webhooks = config.webhooks && opts.untilCaughtUp !== true ? producerWebhooks({ connector, settings: config.webhooks, tables: config.tables, client, metrics, log }) : undefined;
  let removeWebhooks = false;
  const freshnessTimer = setInterval(() => {
    for (const [table, at] of caughtUpAt) metrics.sourceFreshness.set({ connector, table }, (Date.now() - at) / 1000);
  }, 1000);

  const session = async (resumed: () => void): Promise<SchedulerResult> => {
    const kafka = await connectProducerKafka({ brokers: config.kafkaBrokers, security: config.kafkaSecurity, clientId: config.connectorName, transactionalId: `${config.connectorName}.producer`, log });
    const publisher = new Publisher(kafka, registry, {
      topicPrefix: config.topicPrefix,
      connector: config.connectorName,
      partitions: config.topicPartitions,
      replicationFactor: config.topicReplicationFactor,
      minInsyncReplicas: config.topicMinInsyncReplicas,
    });
    try {
      // The settings in force at the session's start; changed rules end the session at a batch boundary.
      await settings.load(kafka);
      const rules = settings.rules;
      const generation = settings.generation;
      let specs = (config.selectedTables ?? config.tables).filter((t) => !rules.tableBlocked(t)).map(tableByName).filter((s) => s.sync.kind !== 'child' && s.sync.kind !== 'history' && s.sync.kind !== 'changelog');
      let companions = companionsOf(specs);
      const state = await kafka.readCompacted(publisher.stateTopic);
      const offsets = offsetsFromState(config.connectorName, state);
      // Schema-change policy: tables the connector never synced (a newer catalog, a table added to TABLES)
      // wait until enabled, unless every change is allowed. The first session's tables are the known ones.
      const known = knownTablesFromState(config.connectorName, state);
      if (known !== undefined && rules.policy !== 'allow-all') {
        const held = specs.filter((s) => !known.includes(s.name) && !rules.enabled(s.name));
        for (const s of held) log('table-blocked-by-policy', { table: s.name, policy: rules.policy, enable: `rules.enable: [${s.name}]` });
        specs = specs.filter((s) => !held.includes(s));
        view.policyHeld = held.map((s) => s.name);
        companions = companionsOf(specs);
      }
      const indexes = new Map<string, KeyIndex>();
      /** The clear key of a record of a table's topic: a key holding a hashed column carries its clear form sealed. */
      const readKey = (spec: TableSpec) => {
        const read = publisher.keyReader(spec);
        return (key: Buffer, header: (name: string) => string | undefined) => {
          const sealed = header(SEALED_KEY_HEADER);
          return sealed === undefined ? read(key) : rules.unsealKey(sealed);
        };
      };
      const resync = resyncs.startSession({ offsets, running: specs.map((s) => s.name), publisher, kafka, indexes, readKey, publish: (t, batch, also) => publish(t, batch, also), log });
      // Filtered tables need to know which keys are live in their topics: a row leaving the filter is deleted.
      const indexed = [...specs, ...companions].filter((s) => needsKeyIndex(s) || rules.needsKeyIndex(s.name));
      const sessionIndexes = await loadIndexes(
        kafka,
        indexed.map((spec) => ({ spec, topic: publisher.topicOf(spec.name), read: readKey(spec), snapshot: !rules.sealsKey(spec.name) })),
        { connector, stateDir: config.stateDir, log, indexes, accept: (topic, header) => resync.loads(topic, header), snapshotUsable: (topic) => resync.snapshotUsable(topic) },
      );
      const tables = specs.map((spec) => {
        const start = offsets.get(spec.name) ?? initialOffset;
        log('table-resumed', {
          table: spec.name,
          cursor: start.cursorMs === null ? null : new Date(start.cursorMs).toISOString(),
          snapshotDone: start.snapshotDone,
          ...(start.import ? { importInProgress: true } : {}),
        });
        return new TableRuntime(
          spec,
          client,
          { tableOf: tableByName, indexes, budgetLow: () => governor.budgetLow(), deleteGuard: guard, latenessMs: config.latenessWindowMs, blockNewColumns: rules.policy === 'block-all' },
          start,
          { historyRebuild: config.historyRebuild },
        );
      });
      /** Registers a table's current schemas (and its history table's), creating topics on first use. */
      /** Columns of the table (and its history table) the schema-change policy blocked and the rules did not enable. */
      const policyBlocked = (t: TableRuntime) => (table: string): ReadonlySet<string> =>
        table === t.base.name || table === t.base.history ? new Set([...t.newColumnsBlocked].filter((c) => !rules.enabled(`${t.base.name}.${c}`))) : new Set();
      const prepare = (t: TableRuntime) =>
        publisher.prepare([t.spec, ...(t.spec.history ? [historyOf(t.spec)!] : [])].filter((s) => !rules.tableBlocked(s.name)).map((s) => rules.publishedSpec(s, policyBlocked(t)(s.name))));
      /**
       * A pass ended: custom column names frozen during it are committed if no batch carried them — a
       * table with nothing to publish (a re-import that found no change) would otherwise never store them,
       * and a field renamed before its next batch would get its column from the new name.
       */
      const passEnded = async (t: TableRuntime) => {
        if (resync.completedUnmarked(t)) {
          const batch: ChangeBatch = { table: t.base.name, events: [], offset: t.withNames(t.lastCommitted) };
          await publish(t, batch);
          t.committed(batch);
          return;
        }
        const names = t.withNames(t.lastCommitted);
        if (JSON.stringify(names.customColumns ?? {}) === JSON.stringify(t.lastCommitted.customColumns ?? {})) return;
        const batch: ChangeBatch = { table: t.base.name, events: [], offset: names };
        await publish(t, batch);
        t.committed(batch);
      };
      // Tables with custom fields register their schemas once their field catalog is read (by the scheduler).
      const dynamic = (s: TableSpec) => s.customFields !== undefined || (s.sync.kind === 'history' && tableByName(s.sync.of).customFields !== undefined);
      await publisher.prepare([...specs, ...companions].filter((s) => !dynamic(s) && !rules.tableBlocked(s.name)).map((s) => rules.publishedSpec(s)));
      // The known tables grow with this session's; the record goes with the session's first batch.
      const knownNow = [...new Set([...(known ?? []), ...specs.map((s) => s.name)])];
      let knownRecord: OutRecord | undefined =
        known === undefined || knownNow.length > known.length ? { topic: publisher.stateTopic, key: Buffer.from(knownTablesKey(config.connectorName), 'utf8'), value: Buffer.from(JSON.stringify(knownNow), 'utf8') } : undefined;

      const publish = async (t: TableRuntime, batch: ChangeBatch, also: readonly OutRecord[] = []) => {
        const resynced = await resync.decorate(t, { ...batch, offset: t.withNames(batch.offset) });
        const full = resynced.batch;
        // The rules decide what leaves the producer; the key indexes follow what was published, in clear.
        const ruled = rules.apply(full, (table, key) => indexes.get(table)?.has(keyString(tableByName(table), key)) ?? false, { customNames: t.ctx.customNames, blocked: policyBlocked(t) });
        const { records, committed } = await publisher.publish(ruled.published, [...(knownRecord ? [knownRecord] : []), ...also, ...resynced.also]);
        knownRecord = undefined;
        committed.then(
          () => {
            metrics.transactions.inc({ connector, result: 'committed' });
            log('batch-committed', { table: batch.table, records, cursor: batch.offset.cursorMs === null ? null : new Date(batch.offset.cursorMs).toISOString() });
          },
          () => metrics.transactions.inc({ connector, result: 'aborted' }),
        );
        for (const ev of ruled.kept) {
          indexes.get(ev.table)?.apply(ev);
          metrics.recordsProduced.inc({ connector, table: ev.table, op: ev.op });
        }
        return { committed };
      };
      const scheduler = new TableScheduler({
        tables,
        publish: async (t, batch) => void (await publish(t, batch)),
        // After a flush everything published is committed: the moment a key index snapshot may be taken.
        flush: async () => {
          await publisher.flush();
          await sessionIndexes.committed();
        },
        schemaChanged: prepare,
        boundary: (t) => resync.boundary(t),
        passEnded,
        budgetLow: () => governor.budgetLow(),
        serverNowMs: () => client.serverNowMs(),
        log,
        pollIntervalMs: config.pollIntervalMs,
        settings: { paused: (table) => settings.paused || settings.tablePaused(table), changed: () => settings.generation !== generation, onChange: (l) => settings.onChange(l) },
        failedTableRetryMs: config.failedTableRetryMs,
        customFieldsRefreshMs: CUSTOM_FIELDS_REFRESH_MS,
        pacer,
        tokensSpent: () => spend.spent,
        hooks: {
          onPacing: (intervalMs, windowTokens, allowedPerDay) => {
            metrics.pollIntervalEffective.set({ connector }, intervalMs / 1000);
            metrics.incrementalTokensWindow.set({ connector }, windowTokens);
            metrics.tokenShareDaily.set({ connector }, allowedPerDay ?? 0);
          },
          onPoll: (table, seconds) => metrics.pollDuration.observe({ connector, table }, seconds),
          onCaughtUp: (table, passStartedMs) => {
            metrics.lastPollSuccess.set({ connector, table }, Date.now() / 1000);
            caughtUpAt.set(table, passStartedMs);
          },
          onFailing: (table, failing) => {
            metrics.tableFailing.set({ connector, table }, failing ? 1 : 0);
            if (!failing) view.trouble.delete(table);
          },
          onTrouble: (table, kind, error) => view.trouble.set(table, { kind, error }),
          onRetry: () => onRetry('pipedrive'),
        },
      });
      resyncs.wake = () => void scheduler.wake();
      webhooks?.attach(scheduler, tables);
      await webhooks?.ensure(abort.signal);
      view.tables = tables;
      view.blockedColumns = (t) => policyBlocked(t)(t.base.name);
      view.state = 'running';
      resumed();
      const result = await scheduler.run(abort.signal, opts.untilCaughtUp === true);
      // A clean end: once the last transaction is committed, the indexes are what the topics hold.
      await publisher.flush();
      await sessionIndexes.committed(true);
      return result;
    } finally {
      // A transaction may still be in flight (the session ended on another error, or was stopped): let it
      // finish before disconnecting; its failure, if any, needs no report — the next session starts over.
      resyncs.endSession();
      webhooks?.detach();
      await publisher.flush().catch(() => undefined);
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
        const result = await session(resumed);
        if (!result.settingsChanged) return result;
        log('settings-adopted', { rulesFrom: settings.view().rulesFrom });
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
    view.state = 'stopped';
    resyncs.stopped();
    clearInterval(freshnessTimer);
    await webhooks?.close().catch(() => undefined);
    if (removeWebhooks) {
      await webhooks?.remove().catch((err: unknown) =>
        log('webhooks-remove-failed', { error: describeError(err), what: 'delete the webhooks posting to WEBHOOK_PUBLIC_URL in Pipedrive (Settings > Webhooks)' }),
      );
    }
    await api.close();
    await registry.close().catch(() => undefined);
    await settings.close();
  });
  done.catch(() => undefined);
  return {
    done,
    resync: (tables) => resyncs.request(tables),
    settings,
    async stop(opts) {
      if (opts?.removeWebhooks) removeWebhooks = true;
      abort.abort();
      await done.catch(() => undefined);
    },
    status(): ConnectorStatus {
      const { rules } = settings;
      const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
      const running: TableStatus[] = view.tables.map((t) => {
        const trouble = view.trouble.get(t.base.name);
        return {
          name: t.base.name,
          state: trouble?.kind ?? 'ok',
          cursor: iso(t.lastCommitted.cursorMs),
          snapshotDone: t.lastCommitted.snapshotDone,
          lastPassStartedAt: iso(caughtUpAt.get(t.base.name)),
          error: trouble?.error ?? null,
          columns: rules.describeColumns(t.spec, view.blockedColumns(t)),
        };
      });
      const blocked = (name: string): TableStatus => ({ name, state: 'blocked', cursor: null, snapshotDone: false, lastPassStartedAt: null, error: null, columns: rules.describeColumns(tableByName(name)) });
      const configured = rules.spec.blockedTables ?? [];
      // The settings as they are now (a pause shows at once), before the session adopted them.
      const shown = running.map((t) => (rules.tableBlocked(t.name) ? { ...t, state: 'blocked' as const } : settings.tablePaused(t.name) && t.state === 'ok' ? { ...t, state: 'paused' as const } : t));
      const listed = new Set(shown.map((t) => t.name));
      return {
        name: connector,
        topicPrefix: config.topicPrefix,
        state: settings.paused && view.state !== 'stopped' ? 'paused' : view.state,
        schemaChanges: rules.policy,
        budget: { dailyTokensRemaining: view.dailyTokensRemaining, burstRemaining: view.burstRemaining, low: governor.budgetLow() },
        tables: [...shown, ...[...new Set([...view.policyHeld, ...configured.filter((t) => catalog.has(t))])].filter((t) => !listed.has(t)).map(blocked)],
      };
    },
  };
}

/** Child, history and change-log tables: they come with their table. */
function companionsOf(specs: readonly TableSpec[]): TableSpec[] {
  return specs.flatMap((s) => [...(s.children ?? []).map((c) => tableByName(c.table)), ...(s.history ? [historyOf(s)!] : []), ...(s.changelog ? [tableByName(s.changelog.table)] : [])]);
}

function dependencyOf(err: unknown): Dependency {
  if (err instanceof KafkaError) return 'kafka';
  if (err instanceof RegistryError) return 'registry';
  if (err instanceof PipedriveError) return 'pipedrive';
  return 'kafka';
}
