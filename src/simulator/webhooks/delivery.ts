/**
 * Webhook deliveries: every journaled write of a webhook entity becomes one POST per matching v2 webhook,
 * as Pipedrive's guide describes it — JSON body (payload.ts), HTTP basic auth when the webhook has
 * credentials, 10 s timeout, any 2xx is success, otherwise retried after 3, 30 and 150 s (4 attempts).
 *
 * Retry times are on the simulator's clock (a frozen clock advanced by 30 s makes the 30 s retry due; a
 * real-time ticker notices within `tickMs`), so tests need not wait real minutes; `retryDelaysMs` changes
 * the schedule itself. Each webhook gets one request at a time, in write order (a subscriber slower than
 * the writes delays the ones after; see faults.ts for reordering). Not modelled: the 30-minute ban after 10 failures, removal after 3 days without
 * success, and the `user_id` permission filter (every event reaches every matching webhook).
 */
import { randomUUID } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import type { SimClock } from '../clock.ts';
import type { ChangeEvent } from '../store/events.ts';
import type { SimStore } from '../store/index.ts';
import { DeliveryFaults, type DeliveryFaultInput } from './faults.ts';
import { webhookBody, webhookEvent, webhookKind, type WebhookEvent } from './payload.ts';
import type { Webhook } from './registry.ts';

export const PIPEDRIVE_RETRY_DELAYS_MS = [3_000, 30_000, 150_000] as const;
export const PIPEDRIVE_TIMEOUT_MS = 10_000;

export interface WebhookDeliveryOptions {
  /** Waits before attempts 2, 3, 4 (sim clock ms); default Pipedrive's 3 s, 30 s, 150 s. */
  retryDelaysMs?: readonly number[];
  /** Per attempt (real ms); default 10 s. */
  timeoutMs?: number;
  /** How often due retries are looked for (real ms); default 20. */
  tickMs?: number;
  /** meta.host; default the simulator's host name. */
  host?: string;
  faults?: DeliveryFaultInput[];
  seed?: number;
  /**
   * Extra CA certificates (PEM text) the delivery client trusts besides Node's bundled ones: a test's
   * private CA behind an https subscription URL (a TLS reverse proxy). Only the simulator's client uses it.
   */
  ca?: string | string[];
}

/** One attempt as the subscriber answered it (status 0: no answer, or timed out). */
export interface DeliveryAttempt {
  deliveryId: string;
  webhookId: number;
  entity: string;
  action: string;
  entityId: number | string;
  attempt: number;
  status: number;
  atMs: number;
}

interface Delivery {
  id: string;
  hook: Webhook;
  event: WebhookEvent;
  attempt: number;
}

export interface DeliveryStats {
  /** Deliveries made (one per event and matching webhook), before faults. */
  created: number;
  attempts: number;
  succeeded: number;
  failed: number;
  /** Deliveries whose 4th attempt failed too. */
  gaveUp: number;
  pending: number;
}

const KEEP_ATTEMPTS = 10_000;

export class WebhookDelivery {
  readonly faults: DeliveryFaults;
  /** Recent attempts, oldest first (at most 10,000). */
  readonly attempts: DeliveryAttempt[] = [];
  private readonly counts = { created: 0, attempts: 0, succeeded: 0, failed: 0, gaveUp: 0 };
  private readonly due: { atMs: number; d: Delivery }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly chains = new Map<number, Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** reorder: a held delivery per webhook, sent after that webhook's next one. */
  private readonly held = new Map<number, { d: Delivery; timer: NodeJS.Timeout }>();
  private ticker: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;
  private readonly retryDelays: readonly number[];
  /** Set with `ca`: a client that trusts it (and Node's bundled roots, which `ca` would otherwise replace). */
  private readonly dispatcher: Agent | undefined;

  constructor(
    private readonly store: SimStore,
    private readonly clock: SimClock,
    private readonly opts: WebhookDeliveryOptions = {},
  ) {
    this.faults = new DeliveryFaults(opts.seed ?? 1, opts.faults);
    this.retryDelays = opts.retryDelaysMs ?? PIPEDRIVE_RETRY_DELAYS_MS;
    const extra = opts.ca === undefined ? [] : [opts.ca].flat();
    this.dispatcher = extra.length > 0 ? new Agent({ connect: { ca: [...rootCertificates, ...extra] } }) : undefined;
    this.unsubscribe = store.journal.subscribe((e) => this.onEvent(e));
  }

  stats(): DeliveryStats {
    return { ...this.counts, pending: this.due.length + this.held.size + this.inFlight.size + this.timers.size };
  }

  /** Resolves once nothing is in flight, delayed or held (retries due later on the sim clock do not count). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0 || this.timers.size > 0 || this.held.size > 0) {
      await Promise.race([...this.inFlight, new Promise((r) => setTimeout(r, 5))]);
    }
  }

  /** Run every retry whose time has come (the ticker does this on its own; tests may call it after moving the clock). */
  runDue(): void {
    const now = this.clock.nowMs();
    for (let i = 0; i < this.due.length; ) {
      const item = this.due[i]!;
      if (item.atMs <= now) {
        this.due.splice(i, 1);
        this.send(item.d);
      } else {
        i++;
      }
    }
    if (this.due.length === 0) this.stopTicker();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.stopTicker();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    this.due.length = 0;
    await Promise.allSettled([...this.inFlight]);
    await this.dispatcher?.close();
  }

  private onEvent(e: ChangeEvent): void {
    if (this.closed) return;
    const kind = webhookKind(e);
    // Presenting the entity costs: only for writes some webhook wants (seeding and bulk tests write a lot).
    const hooks = kind ? this.store.webhooks.matching(kind.entity, kind.action) : [];
    if (hooks.length === 0) return;
    const event = webhookEvent(this.store, e)!;
    for (const hook of hooks) {
      this.counts.created += 1;
      this.dispatch({ id: randomUUID(), hook, event, attempt: 1 });
    }
  }

  /** A first attempt, through the fault rules. */
  private dispatch(d: Delivery): void {
    const fired = this.faults.select({ entity: d.event.entity, action: d.event.action, webhookId: d.hook.id });
    if (fired.some((f) => f.kind === 'drop')) return;
    const copies = fired.some((f) => f.kind === 'duplicate') ? 2 : 1;
    const delayMs = fired.reduce((s, f) => s + (f.kind === 'delay' ? f.delayMs ?? 0 : 0), 0);
    const reorder = fired.find((f) => f.kind === 'reorder');
    const go = (): void => {
      for (let i = 0; i < copies; i++) this.send({ ...d });
    };
    const held = this.held.get(d.hook.id);
    if (reorder && !held) {
      const timer = setTimeout(() => this.release(d.hook.id), reorder.holdMs ?? 1000);
      this.held.set(d.hook.id, { d: { ...d }, timer });
      return;
    }
    if (delayMs > 0) this.later(delayMs, go);
    else go();
    // The held one goes out after this later delivery: the two arrive swapped.
    if (held) this.release(d.hook.id);
  }

  private release(webhookId: number): void {
    const h = this.held.get(webhookId);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(webhookId);
    this.send(h.d);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  private send(d: Delivery): void {
    if (this.closed || !this.store.webhooks.get(d.hook.id)) return; // deleted meanwhile: nothing more goes to it
    // One request at a time per webhook, in the order of the writes: order changes only when a fault says so.
    const before = this.chains.get(d.hook.id) ?? Promise.resolve();
    const p: Promise<void> = before.then(() => this.attempt(d)).finally(() => {
      this.inFlight.delete(p);
      if (this.chains.get(d.hook.id) === p) this.chains.delete(d.hook.id);
    });
    this.chains.set(d.hook.id, p);
    this.inFlight.add(p);
  }

  private async attempt(d: Delivery): Promise<void> {
    this.counts.attempts += 1;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Pipedrive Webhooks (simulator)' };
    if (d.hook.httpAuthUser !== null) {
      headers['authorization'] = `Basic ${Buffer.from(`${d.hook.httpAuthUser}:${d.hook.httpAuthPassword ?? ''}`).toString('base64')}`;
    }
    const body = JSON.stringify(webhookBody(d.event, d.hook, d.id, d.attempt, this.opts.host ?? 'sim.pipedrive.local'));
    let status = 0;
    try {
      const init = { method: 'POST', headers, body, redirect: 'manual' as const, signal: AbortSignal.timeout(this.opts.timeoutMs ?? PIPEDRIVE_TIMEOUT_MS) };
      const res = this.dispatcher ? await undiciFetch(d.hook.subscriptionUrl, { ...init, dispatcher: this.dispatcher }) : await fetch(d.hook.subscriptionUrl, init);
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      status = 0; // refused, reset or timed out: no answer
    }
    this.store.webhooks.recordDelivery(d.hook.id, status);
    this.attempts.push({ deliveryId: d.id, webhookId: d.hook.id, entity: d.event.entity, action: d.event.action, entityId: d.event.entityId, attempt: d.attempt, status, atMs: this.clock.nowMs() });
    if (this.attempts.length > KEEP_ATTEMPTS) this.attempts.splice(0, this.attempts.length - KEEP_ATTEMPTS);
    if (status >= 200 && status < 300) {
      this.counts.succeeded += 1;
      return;
    }
    this.counts.failed += 1;
    const wait = this.retryDelays[d.attempt - 1];
    if (wait === undefined || this.closed) {
      this.counts.gaveUp += 1;
      return;
    }
    this.due.push({ atMs: this.clock.nowMs() + wait, d: { ...d, attempt: d.attempt + 1 } });
    this.startTicker();
  }

  private startTicker(): void {
    if (this.ticker || this.closed) return;
    this.ticker = setInterval(() => this.runDue(), this.opts.tickMs ?? 20);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
