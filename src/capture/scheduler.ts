import type { Logger } from '../observe/log.ts';
import { PipedriveError } from '../pipedrive/errors.ts';
import { backoffMs, describeError, sleepUnlessAborted } from '../retry.ts';
import type { ChangeBatch } from './change.ts';
import { CustomFieldsChanged } from './emit.ts';
import type { TableRuntime } from './table-runtime.ts';
import type { TokenPacer } from './token-pacer.ts';

/**
 * The poll loop over a connector's tables, one table at a time (one Pipedrive company, one budget):
 *
 *   ok ──poll──► batches ──publish──► ok            (a pass ends when the source returns null)
 *   ok ──Pipedrive still failing after the client's retries──► waiting ──backoff──► ok
 *   ok ──table-scoped error (402/403, malformed row)──► failed ──FAILED_TABLE_RETRY_MS──► ok
 *
 * A failed or waiting table is reset to its last committed offset and the other tables go on. Errors that
 * are not the table's (publishing to Kafka, registering schemas, a wrong token) leave the loop: the
 * caller decides whether waiting can fix them.
 */
export interface SchedulerDeps {
  readonly tables: readonly TableRuntime[];
  /**
   * Publishes a batch in one Kafka transaction; may return before it commits (one in flight), and the
   * scheduler then reads on as if it had: a failed transaction fails a later `publish` or `flush`, and the
   * caller starts over from the state topic.
   */
  publish(table: TableRuntime, batch: ChangeBatch): Promise<void>;
  /** Waits until everything published has committed (before a pass counts as caught up). */
  flush(): Promise<void>;
  /** The table's columns changed (new custom fields): register its new schemas before rows use them. */
  schemaChanged(table: TableRuntime): Promise<void>;
  /** A pass over the table reached its end (offset bookkeeping that no batch carried is committed here). */
  passEnded?(table: TableRuntime): Promise<void>;
  /**
   * Called before each poll of a table, between its batches: work that must not interleave with a batch
   * of the table (a re-sync starting it over) happens here.
   */
  boundary?(table: TableRuntime): Promise<void>;
  /** The day's API budget is low: no backfill starts, and idle rounds wait longer. */
  budgetLow(): boolean;
  serverNowMs(): number;
  readonly log: Logger;
  readonly pollIntervalMs: number;
  /** How long a table that failed with a table-scoped error waits before it is tried again. */
  readonly failedTableRetryMs: number;
  /** How often the field catalogs are read again (a row with an unknown custom field triggers a read at once). */
  readonly customFieldsRefreshMs: number;
  readonly hooks?: SchedulerHooks;
  /**
   * The token budget share (capture/token-pacer.ts): stretches the wait between steady-state rounds so the
   * incremental work's recent spend stays within its share of the daily budget. With `tokensSpent` (a
   * running total of what the answers say the calls cost, pipedrive/spend-meter.ts), each poll of a live
   * table is charged to it.
   */
  readonly pacer?: TokenPacer;
  tokensSpent?(): number;
  /** Runtime settings (src/connector-settings.ts), read before each table's poll and after each batch. */
  readonly settings?: SchedulerSettings;
}

export interface SchedulerSettings {
  /** The table (or the whole connector) is paused: not polled; a pass in progress stops at its next batch. */
  paused(table: string): boolean;
  /** The rules changed since the run started: it ends at the next batch boundary, for a session with them. */
  changed(): boolean;
  /** Calls `listener` on every settings change (an idle wait ends, so a resume or new rules apply at once); returns the unsubscribe. */
  onChange?(listener: () => void): () => void;
}

export interface SchedulerHooks {
  /** One poll (one page and its transaction) took this long. */
  onPoll?(table: string, seconds: number): void;
  /** A pass that started at `passStartedMs` reached the end of the table. */
  onCaughtUp?(table: string, passStartedMs: number): void;
  /** The table is waiting or failed, with the error (each time it fails again). */
  onTrouble?(table: string, kind: 'waiting' | 'failed', error: string): void;
  /** The table left (true) or returned to (false) the failing states. */
  onFailing?(table: string, failing: boolean, reason: string): void;
  /** A Pipedrive retry of a whole table pass (the client's own retries are counted by the client). */
  onRetry?(): void;
  /** A steady-state round ended: the wait before the next, the incremental tokens of the last 24 hours, the share a day. */
  onPacing?(intervalMs: number, windowTokens: number, allowedPerDay: number | undefined): void;
}

/** Why a table is not polled right now. */
interface Trouble {
  readonly kind: 'waiting' | 'failed';
  readonly error: PipedriveError;
  readonly retryAtMs: number;
  readonly attempts: number;
}

/** What `run` ends with: the tables that failed (their last error), for `run --once` to report. */
export interface SchedulerResult {
  readonly failed: ReadonlyMap<string, Error>;
  /** The run ended because the rules changed (SchedulerSettings.changed): start a new session. */
  readonly settingsChanged?: boolean;
}

/** Backoff of a table whose Pipedrive calls kept failing (the client already retried for about a minute). */
const WAITING_BACKOFF = { initialMs: 30_000, maxMs: 10 * 60_000 };

export class TableScheduler {
  private readonly trouble = new Map<string, Trouble>();
  /** Tables with custom fields whose schemas were registered after their field catalog was read. */
  private readonly prepared = new Set<string>();

  /** Ends the current idle wait (see `wake`). */
  private wakeIdle: (() => void) | undefined;
  /** A wake that came while no idle wait ran: the next one is skipped. */
  private woken = false;
  /** Tables a webhook asked to poll now, with who waits for their next pass to end. */
  private readonly urgent = new Map<string, Array<(caughtUp: boolean) => void>>();

  constructor(private readonly deps: SchedulerDeps) {}

  /**
   * Without a table: starts the next round now instead of after the idle wait (a re-sync was asked for).
   * With one (a webhook hint): the table is polled now, alone — the other tables keep their interval, so
   * a hint costs one table's calls, not a round's. Resolves true when a pass of the table that started
   * after this call reached the end of the table (its records committed); false when no such pass came
   * (the table is unknown, paused, waiting out a failure, the day's budget is low, the pass failed, the
   * scheduler stopped): the regular poll covers it.
   */
  wake(table?: string): Promise<boolean> {
    if (table === undefined) {
      this.woken = true;
      this.wakeIdle?.();
      return Promise.resolve(false);
    }
    if (this.stopped || !this.deps.tables.some((t) => t.base.name === table)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiting = this.urgent.get(table) ?? [];
      waiting.push(resolve);
      this.urgent.set(table, waiting);
      this.wakeIdle?.();
    });
  }

  private stopped = false;

  /**
   * Polls until stopped, or with `untilCaughtUp` until a round publishes nothing and nothing waits for the
   * budget or for a transient failure to pass (tables that failed for good are reported, not retried).
   */
  async run(signal: AbortSignal, untilCaughtUp: boolean): Promise<SchedulerResult> {
    try {
      return await this.rounds(signal, untilCaughtUp);
    } finally {
      // Nobody waits for a pass that will not come (the session ended; the next one has its own scheduler).
      this.stopped = true;
      for (const waiting of this.urgent.values()) for (const resolve of waiting) resolve(false);
      this.urgent.clear();
    }
  }

  private async rounds(signal: AbortSignal, untilCaughtUp: boolean): Promise<SchedulerResult> {
    const { tables, log } = this.deps;
    for (let round = 0; !signal.aborted; round++) {
      let moved = false;
      let deferred = false;
      // Each round starts at the next table, so a scarce budget is shared instead of spent on the first ones.
      for (const t of tables.map((_, i) => tables[(i + round) % tables.length]!)) {
        if (signal.aborted) break;
        if (this.deps.settings?.changed()) return { failed: new Map(), settingsChanged: true };
        if (this.deps.settings?.paused(t.base.name)) continue;
        const trouble = this.trouble.get(t.base.name);
        if (trouble && (Date.now() < trouble.retryAtMs || (untilCaughtUp && trouble.kind === 'failed'))) continue;
        if (this.deps.budgetLow() && t.source.startsBackfill?.(this.deps.serverNowMs())) {
          log('backfill-deferred', { table: t.base.name });
          deferred = true;
          continue;
        }
        moved = (await this.pollTable(t, signal)) || moved;
      }
      // Troubled tables that will be tried again (a one-off run does not retry those that failed for good).
      const pending = [...this.trouble.values()].filter((x) => x.kind === 'waiting' || !untilCaughtUp);
      if (!moved && !deferred && untilCaughtUp && pending.length === 0) break;
      if (moved) continue;
      // The token budget share sets the pace (never faster than the poll interval); with the day's budget
      // low, poll less often still, so incremental reads last until the reset.
      const paced = this.paceAfterRound();
      const idle = this.deps.budgetLow() ? Math.max(paced, this.deps.pollIntervalMs * 10) : paced;
      const nextRetry = Math.min(...pending.map((x) => x.retryAtMs - Date.now()));
      // Urgent passes (webhook hints) run inside the wait; the next full round stays due when it was.
      const untilMs = Date.now() + Math.max(0, Math.min(idle, nextRetry));
      while ((await this.idle(untilMs - Date.now(), signal)) === 'urgent') {
        if (!(await this.urgentPasses(signal)) || Date.now() >= untilMs) break;
      }
    }
    return { failed: new Map([...this.trouble].filter(([, x]) => x.kind === 'failed').map(([name, x]) => [name, x.error])) };
  }

  /**
   * Waits between rounds, until stopped, woken, or the settings change ('round': start the next round), or
   * until a table is urgent ('urgent': poll it alone, then wait on).
   */
  private async idle(ms: number, signal: AbortSignal): Promise<'round' | 'urgent'> {
    if (signal.aborted) return 'round';
    // A wake() that came during the round (a re-sync asked for) skips this wait.
    if (this.woken) {
      this.woken = false;
      return 'round';
    }
    if (this.urgent.size > 0) return 'urgent';
    if (ms <= 0) return 'round';
    const wake = new AbortController();
    let settingsChanged = false;
    const stop = () => wake.abort();
    const off = this.deps.settings?.onChange?.(() => {
      settingsChanged = true;
      stop();
    });
    this.wakeIdle = stop;
    signal.addEventListener('abort', stop, { once: true });
    let slept = false;
    try {
      await sleepUnlessAborted(ms, wake.signal).then(() => (slept = true), () => undefined);
    } finally {
      off?.();
      this.wakeIdle = undefined;
      signal.removeEventListener('abort', stop);
    }
    const woken = this.woken;
    this.woken = false;
    return slept || woken || settingsChanged || signal.aborted || this.urgent.size === 0 ? 'round' : 'urgent';
  }

  /**
   * One pass of each urgent table, until none is (a hint during a pass makes its table urgent again: the
   * pass may have read the API before the change). False when the wait must end (stopped, settings changed).
   */
  private async urgentPasses(signal: AbortSignal): Promise<boolean> {
    while (this.urgent.size > 0) {
      for (const t of this.deps.tables) {
        const name = t.base.name;
        if (!this.urgent.has(name)) continue;
        if (signal.aborted || this.deps.settings?.changed()) return false;
        const trouble = this.trouble.get(name);
        // With the day's budget low, hints spend nothing: the (slowed) regular poll alone uses what is left.
        const skip = this.deps.settings?.paused(name) || (trouble && Date.now() < trouble.retryAtMs) || this.deps.budgetLow();
        if (skip) {
          for (const resolve of this.urgent.get(name) ?? []) resolve(false);
          this.urgent.delete(name);
          continue;
        }
        await this.pollTable(t, signal);
      }
    }
    return true;
  }

  /** The wait after a round in which nothing moved (the end of a steady-state round). */
  private paceAfterRound(): number {
    const pacer = this.deps.pacer;
    if (!pacer) return this.deps.pollIntervalMs;
    const now = Date.now();
    pacer.roundEnded(now);
    const interval = pacer.intervalMs(now);
    this.deps.hooks?.onPacing?.(interval, pacer.windowTokens(now), pacer.allowedPerDay());
    return interval;
  }

  /** Drains one table's pending batches (its tokens charged to the pacer when the table is live); true when anything was published. */
  private async pollTable(t: TableRuntime, signal: AbortSignal): Promise<boolean> {
    const { pacer, tokensSpent } = this.deps;
    if (!pacer || !tokensSpent) return this.drainTable(t, signal);
    const before = tokensSpent();
    // A first sync, backfill or re-sync is held back by the governor's reserve, not paced.
    const steady = t.lastCommitted.snapshotDone && t.lastCommitted.backfill === undefined;
    try {
      return await this.drainTable(t, signal);
    } finally {
      if (steady) pacer.spent(tokensSpent() - before, Date.now());
    }
  }

  private async drainTable(t: TableRuntime, signal: AbortSignal): Promise<boolean> {
    const name = t.base.name;
    let published = false;
    const passStarted = Date.now();
    // This pass serves the hints that came before it started; later ones wait for the next pass.
    const waiting = this.urgent.get(name) ?? [];
    this.urgent.delete(name);
    if (waiting.length > 0) t.changeHints.mark();
    let caughtUp = false;
    try {
      if (t.customFieldsDue(Date.now(), this.deps.customFieldsRefreshMs)) await this.refreshCustomFields(t, signal);
      for (;;) {
        await this.deps.boundary?.(t);
        const started = performance.now();
        let batch: ChangeBatch | null;
        try {
          batch = await t.source.poll(signal);
        } catch (err) {
          if (!(err instanceof CustomFieldsChanged)) throw err;
          this.deps.log('custom-fields-changed', { table: name });
          await this.refreshCustomFields(t, signal);
          continue;
        } finally {
          this.deps.hooks?.onPoll?.(name, (performance.now() - started) / 1000);
        }
        if (!batch) {
          await this.deps.passEnded?.(t);
          await this.deps.flush();
          this.recovered(t);
          this.deps.hooks?.onCaughtUp?.(name, passStarted);
          caughtUp = true;
          return published;
        }
        await this.deps.publish(t, batch);
        t.committed(batch);
        published = true;
        if (this.deps.settings && (this.deps.settings.changed() || this.deps.settings.paused(name))) {
          // Paused or new rules mid-pass: the pass starts over from the committed offset when the table is polled again.
          t.reset();
          return published;
        }
      }
    } catch (err) {
      if (signal.aborted || !(err instanceof PipedriveError) || err.scope !== 'table') throw err;
      t.reset();
      this.troubled(t, err);
      return published;
    } finally {
      for (const resolve of waiting) resolve(caughtUp);
    }
  }

  /** Reads the field catalog; registers the table's schemas when its columns changed, or on the first read. */
  private async refreshCustomFields(t: TableRuntime, signal: AbortSignal): Promise<void> {
    const changed = await t.refreshCustomFields(signal);
    if (changed || !this.prepared.has(t.base.name)) await this.deps.schemaChanged(t);
    this.prepared.add(t.base.name);
  }

  private troubled(t: TableRuntime, error: PipedriveError): void {
    const name = t.base.name;
    const before = this.trouble.get(name);
    const kind = error.retriable ? 'waiting' : 'failed';
    const attempts = before?.kind === kind ? before.attempts + 1 : 1;
    const delayMs = kind === 'waiting' ? backoffMs(attempts - 1, WAITING_BACKOFF) : this.deps.failedTableRetryMs;
    this.trouble.set(name, { kind, error, retryAtMs: Date.now() + delayMs, attempts });
    // `table-failed` goes to stderr (a person has to act); `table-waiting` is an outage being waited out.
    this.deps.log(kind === 'failed' ? 'table-failed' : 'table-waiting', { table: name, error: describeError(error), retryInMs: delayMs, attempts });
    this.deps.hooks?.onTrouble?.(name, kind, describeError(error));
    if (kind === 'waiting') this.deps.hooks?.onRetry?.();
    if (!before) this.deps.hooks?.onFailing?.(name, true, kind);
  }

  private recovered(t: TableRuntime): void {
    const name = t.base.name;
    if (!this.trouble.delete(name)) return;
    this.deps.log('table-recovered', { table: name });
    this.deps.hooks?.onFailing?.(name, false, 'ok');
  }
}
