/**
 * The producer's webhooks (issue 14): the receiver, the connector's subscriptions in Pipedrive, and the
 * path from a hint to an immediate pass of the table that polls the changed entity. A hint only makes a
 * pass happen sooner; the pass reads the API from the table's committed cursor like any other, so the
 * regular poll stays the source of truth and a lost, duplicated, late or forged webhook changes nothing.
 * A delete hint for a table whose list hides deleted rows also names the id its pass reads back
 * (capture/delete-hints.ts): confirmed gone, it is deleted then instead of at the next id scan.
 */
import { tableByName } from './catalog/index.ts';
import { historyOf } from './catalog/types.ts';
import type { TableScheduler } from './capture/scheduler.ts';
import type { TableRuntime } from './capture/table-runtime.ts';
import type { WebhookSettings } from './config-webhooks.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import type { PipedriveClient } from './pipedrive/client.ts';
import { HintCoalescer } from './pipedrive/webhook-hints.ts';
import type { startWebhookReceiver, WebhookHint } from './pipedrive/webhook-receiver.ts';
import { ConnectorWebhooks } from './pipedrive/webhooks.ts';
import { redactUrl } from './redact.ts';
import { describeError, isRetriable } from './retry.ts';

export interface ProducerWebhooks {
  /** Starts the receiver, then makes Pipedrive hold the connector's webhooks (until the first success). */
  ensure(signal: AbortSignal): Promise<void>;
  /** The session's scheduler and tables: hints go to them until `detach`. */
  attach(scheduler: TableScheduler, tables: readonly TableRuntime[]): void;
  detach(): void;
  /** Stops receiving; the subscriptions stay (the next start reuses them; meanwhile the poll covers). */
  close(): Promise<void>;
  /** Deletes the connector's subscriptions (the connector is removed). */
  remove(): Promise<void>;
}

interface Options {
  readonly connector: string;
  readonly settings: WebhookSettings;
  /** The tables the connector syncs (config TABLES): their entities get a webhook. */
  readonly tables: readonly string[];
  readonly client: PipedriveClient;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export function producerWebhooks(o: Options): ProducerWebhooks {
  const { connector, settings: w, metrics, log } = o;
  const hooks = new ConnectorWebhooks(o.client, { connector, subscriptionUrl: w.publicUrl, user: w.user, password: w.password, generatedPassword: w.generatedPassword }, log);
  let session: { scheduler: TableScheduler; runtimeOf: Map<string, string>; runtimes: Map<string, TableRuntime> } | undefined;
  /** Per polled table: meta.timestamp of the hints no pass has served yet (for the change → Kafka histogram). */
  const unserved = new Map<string, number[]>();
  const coalescer = new HintCoalescer(async (table) => {
    const s = session;
    if (!s) return;
    // Every hint received so far comes before the pass wake() asks for, so that pass serves it.
    const changes = unserved.get(table) ?? [];
    unserved.delete(table);
    const caughtUp = await s.scheduler.wake(table);
    if (!caughtUp) return;
    const now = Date.now();
    for (const at of changes) metrics.webhookChangeToKafka.observe({ connector, table }, Math.max(0, now - at) / 1000);
  }, log, w.minPassGapMs);
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
  // Once per start: a generated password replaces every subscription at each ensure().
  let registered = false;

  const onHint = (h: WebhookHint): void => {
    const table = session?.runtimeOf.get(h.table);
    // Not synced by this session (blocked, paused by policy, or between sessions): the poll covers it.
    if (table === undefined) return;
    // A delete the table's list will not show (it hides deleted rows): the pass reads the id back and deletes it.
    if (h.action === 'delete' && table === h.table && typeof h.id === 'number') session?.runtimes.get(table)?.deleteSuspects.add(h.id);
    if (h.changedAtMs !== undefined) unserved.set(table, [...(unserved.get(table) ?? []), h.changedAtMs].slice(-10_000));
    coalescer.hint({ ...h, table });
  };

  return {
    async ensure(signal) {
      // Listening before registering: Pipedrive may deliver as soon as a webhook exists.
      if (registered) return;
      if (!receiver) {
        // Loaded only when webhooks are on: the receiver brings express, which a producer without them never needs.
        const { startWebhookReceiver } = await import('./pipedrive/webhook-receiver.ts');
        receiver = await startWebhookReceiver({ connector, user: w.user, password: w.password, port: w.port, host: w.host, metrics, log, knownWebhookIds: () => hooks.knownIds(), onHint });
        log('webhook-receiver-listening', { port: receiver.port, publicUrl: redactUrl(w.publicUrl) });
      }
      try {
        await hooks.ensure(o.tables, signal);
      } catch (err) {
        // An outage is waited out with the session; a refusal (e.g. a token without webhook rights) leaves
        // the connector polling, as without webhooks: they only ever made it fresher.
        if (signal.aborted || isRetriable(err)) throw err;
        log('webhooks-unavailable', { error: describeError(err), what: 'the connector polls without webhooks; give the token the right to manage webhooks, or unset WEBHOOK_PUBLIC_URL' });
      }
      registered = true;
    },
    attach(scheduler, tables) {
      // A hint names the entity's own table; children and history come with the table that polls them.
      const runtimeOf = new Map<string, string>();
      for (const t of tables) {
        const spec = tableByName(t.base.name);
        for (const name of [spec.name, ...(spec.children ?? []).map((c) => c.table), ...(spec.history ? [historyOf(spec)!.name] : []), ...(spec.changelog ? [spec.changelog.table] : [])]) {
          if (!runtimeOf.has(name)) runtimeOf.set(name, spec.name);
        }
      }
      session = { scheduler, runtimeOf, runtimes: new Map(tables.map((t) => [t.base.name, t])) };
    },
    detach() {
      session = undefined;
    },
    async close() {
      session = undefined;
      await receiver?.close();
      receiver = undefined;
      // Passes still asked for end at once (no session); one waiting out WEBHOOK_MIN_PASS_GAP_MS is not awaited.
    },
    async remove() {
      await hooks.remove();
    },
  };
}
