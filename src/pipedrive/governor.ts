import type { ResponseHeaders } from './client.ts';

/**
 * One rate-limit governor per Pipedrive company, shared by every table. It keeps requests inside the
 * per-token 2-second burst window (learned from `x-ratelimit-limit`, counted locally so it never relies on
 * a header arriving), waits out 429s, and plans around the daily token budget
 * (`x-daily-ratelimit-token-*`): below the reserve no new backfill starts, and an exhausted budget sleeps
 * until the API's midnight — never a busy loop.
 */
export interface GovernorOptions {
  /** Burst limit to assume before the first answer tells the real one (the smallest plan's). */
  readonly initialBurstLimit?: number;
  /** Fraction of the daily budget kept for incremental polls: backfills wait while less is left. */
  readonly dailyReserveFraction?: number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
  readonly onWait?: (reason: 'burst' | 'rate-limited' | 'daily-budget', ms: number) => void;
  /** The daily budget just ran out; it resets at `resetAtMs` (the API's midnight). */
  readonly onBudgetExhausted?: (resetAtMs: number) => void;
  /**
   * While the daily budget is spent, let one request through this often: its answer (a 429, or data after
   * the reset) carries the API's clock and budget, so a reset is noticed without polling hard. Default 5 min.
   */
  readonly dailyProbeMs?: number;
}

const WINDOW_MS = 2_000;
/** The most one call costs (v1 archived lists; see the specs' x-token-cost). */
const MAX_CALL_COST = 80;

export class RateGovernor {
  private burstLimit: number;
  private readonly sent: number[] = [];
  private blockedUntil = 0;
  private dailyLimit: number | undefined;
  private dailyRemaining: number | undefined;
  private lastProbe = 0;
  /** When an answer last told the daily budget (our clock). */
  private dailyObservedAt = 0;
  /** The API's midnight after the budget ran out. */
  private dailyResetAt = 0;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly opts: GovernorOptions = {}) {
    this.burstLimit = opts.initialBurstLimit ?? 20;
    this.now = opts.now ?? Date.now;
    this.sleep =
      opts.sleep ??
      ((ms, signal) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(done, ms);
          function done() {
            signal?.removeEventListener('abort', done);
            clearTimeout(t);
            resolve();
          }
          signal?.addEventListener('abort', done, { once: true });
        }));
  }

  /**
   * Waits until one more request fits. `serverNowMs` is the API's clock, for the daily reset at its midnight.
   */
  async acquire(serverNowMs: () => number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) return;
      const now = this.now();
      if (this.dailyRemaining !== undefined && this.dailyRemaining <= 0) {
        const probeEvery = this.opts.dailyProbeMs ?? 300_000;
        const untilReset = this.dailyResetAt - serverNowMs();
        if (now - this.lastProbe < probeEvery && untilReset > 0) {
          const wait = Math.min(probeEvery - (now - this.lastProbe), untilReset + 1_000);
          this.opts.onWait?.('daily-budget', wait);
          await this.sleep(wait, signal);
          continue;
        }
      }
      if (now < this.blockedUntil) {
        this.opts.onWait?.('rate-limited', this.blockedUntil - now);
        await this.sleep(this.blockedUntil - now, signal);
        continue;
      }
      while (this.sent.length > 0 && this.sent[0]! <= now - WINDOW_MS) this.sent.shift();
      // One request of slack: other clients of the same token may be counted in the same window.
      if (this.sent.length >= Math.max(1, this.burstLimit - 1)) {
        const wait = this.sent[0]! + WINDOW_MS - now + 1;
        this.opts.onWait?.('burst', wait);
        await this.sleep(wait, signal);
        continue;
      }
      this.sent.push(now);
      // While the budget is spent, this request is the probe: its answer tells the budget and the API's clock.
      if (this.dailyRemaining !== undefined && this.dailyRemaining <= 0) this.lastProbe = now;
      return;
    }
  }

  /** Learns from an answer's headers and status. */
  observe(headers: ResponseHeaders, status: number): void {
    const limit = Number(headers['x-ratelimit-limit']);
    if (Number.isFinite(limit) && limit > 0) this.burstLimit = limit;
    const remaining = Number(headers['x-ratelimit-remaining']);
    const reset = Number(headers['x-ratelimit-reset']);
    const dLimit = Number(headers['x-daily-ratelimit-token-limit']);
    const dRemaining = Number(headers['x-daily-ratelimit-token-remaining']);
    const dailyKnown = headers['x-daily-ratelimit-token-remaining'] !== undefined && Number.isFinite(dRemaining);
    // A 429 with room left in the burst window and less left today than a call can cost is the daily
    // budget: a call was refused because it cost more than what is left. Any other 429 is the burst window.
    const dailyRefusal = status === 429 && Number.isFinite(remaining) && remaining > 0 && dailyKnown && dRemaining < MAX_CALL_COST;
    const burstRefusal = (status === 429 && !dailyRefusal) || remaining === 0;
    if (burstRefusal && Number.isFinite(reset)) this.blockedUntil = Math.max(this.blockedUntil, this.now() + reset * 1000);
    if (Number.isFinite(dLimit) && dLimit > 0) this.dailyLimit = dLimit;
    if (dailyKnown) {
      const left = dailyRefusal ? 0 : dRemaining;
      if (left <= 0 && !(this.dailyRemaining !== undefined && this.dailyRemaining <= 0)) {
        const date = Date.parse(headers.date ?? '');
        this.dailyResetAt = nextUtcMidnight(Number.isFinite(date) ? date : this.now());
        this.opts.onBudgetExhausted?.(this.dailyResetAt);
      }
      this.dailyRemaining = left;
      this.dailyObservedAt = this.now();
    }
  }

  /** True when the day's budget is below the reserve: start no backfill (snapshots, full imports). */
  budgetLow(): boolean {
    if (this.dailyRemaining === undefined || this.dailyLimit === undefined) return false;
    // Knowledge this old may predate a reset: let one request through to learn the budget again.
    if (this.now() - this.dailyObservedAt >= (this.opts.dailyProbeMs ?? 300_000)) return false;
    return this.dailyRemaining < this.dailyLimit * (this.opts.dailyReserveFraction ?? 0.2);
  }

  /** The daily budget the API last told (`x-daily-ratelimit-token-limit`). */
  get dailyTokenLimit(): number | undefined {
    return this.dailyLimit;
  }

  get dailyTokensRemaining(): number | undefined {
    return this.dailyRemaining;
  }
}

export function nextUtcMidnight(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}
