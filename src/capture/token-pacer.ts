/**
 * The token budget share of steady-state polling. A connector may spend `share` of the company's daily
 * token budget on its incremental work (the rest belongs to the company's other integrations and people);
 * the pacer delays each round until the last 24 hours' spend leaves room for it:
 *
 *   allowed per day  A = share × daily budget (x-daily-ratelimit-token-limit, else DAILY_TOKEN_BUDGET)
 *   next round       c = the median cost of the last 20 rounds
 *   next round at    the earliest t ≥ now + POLL_INTERVAL_MS with  spend in (t − 24 h, t] + c ≤ 0.95 A × f(t)
 *                    where f(t) = min(1, (t − first spend) ÷ 24 h): a pacer with less than a day of history
 *                    allows the day's share pro rata, so it never spends a day's share in the first hours
 *   and not before now + 24 h × window spend ÷ (0.95 A × rounds in the window): the rounds of the last day
 *   spread evenly (without it they would follow the pattern of what leaves the window — bursts of rounds
 *   after an hour's wait); at most an hour after now, whatever the window holds (a freshness floor; the
 *   governor's reserve still protects the budget itself). In steady state, with daily work F and rounds
 *   of cost c, this settles at (0.95 A − F) ÷ c rounds a day.
 *
 * Everything the incremental work spends counts — daily re-imports and id scans, field catalogs, passes a
 * webhook hint asked for — so a costly day makes the rounds sparser; the window is a day because the daily
 * work comes once a day: in any 24 hours of steady state it is in the window once, and the polling gets the
 * rest. The 5 % is headroom for rounds that cost more than the median. First syncs, backfills and re-syncs
 * are not counted (the governor's reserve holds them back). Without a known budget the interval stays
 * POLL_INTERVAL_MS. Pure arithmetic over the times it is given (the caller's clock).
 */
export const DAY_MS = 24 * 3600 * 1000;
/** The part of the share the pace aims at (see above). */
export const PACE_TARGET = 0.95;
/** The longest wait between two rounds. */
export const MAX_INTERVAL_MS = 3600_000;
const BUCKET_MS = 60_000;
const RECENT_ROUNDS = 20;

export interface TokenPacerOptions {
  /** Fraction of the daily budget for this connector's incremental polling, 0 < share ≤ 1. */
  readonly share: number;
  /** The daily token budget: the API's header when it sent one, else the configured fallback, else undefined. */
  readonly dailyBudget: () => number | undefined;
  /** POLL_INTERVAL_MS: rounds never come faster. */
  readonly minIntervalMs: number;
}

export class TokenPacer {
  /** Spend per minute (bucket start, tokens), oldest first, within the last day. */
  private readonly buckets: Array<{ atMs: number; tokens: number }> = [];
  private firstSpendMs: number | undefined;
  private roundTokens = 0;
  private readonly recentRounds: number[] = [];
  /** When the rounds of the last day ended. */
  private readonly roundTimes: number[] = [];

  constructor(private readonly opts: TokenPacerOptions) {
    if (!(opts.share > 0 && opts.share <= 1)) throw new Error(`token pacer: share ${opts.share} is not in (0, 1]`);
  }

  /** Tokens the incremental work spent at `atMs` (a table's poll, its field catalog, a hinted pass). */
  spent(tokens: number, atMs: number): void {
    if (tokens <= 0) return;
    this.firstSpendMs ??= atMs;
    this.roundTokens += tokens;
    const at = Math.floor(atMs / BUCKET_MS) * BUCKET_MS;
    const last = this.buckets.at(-1);
    if (last && last.atMs === at) last.tokens += tokens;
    else this.buckets.push({ atMs: at, tokens });
  }

  /** A round (every table polled until none had anything new) ended: what it spent is a round's cost. */
  roundEnded(atMs: number): void {
    this.roundTimes.push(atMs);
    this.recentRounds.push(this.roundTokens);
    if (this.recentRounds.length > RECENT_ROUNDS) this.recentRounds.shift();
    this.roundTokens = 0;
  }

  /** Tokens the incremental work spent in the 24 hours before `nowMs`. */
  windowTokens(nowMs: number): number {
    this.prune(nowMs);
    return this.buckets.reduce((n, b) => n + b.tokens, 0);
  }

  /** The share of the daily budget this connector may spend, in tokens a day; undefined without a budget. */
  allowedPerDay(): number | undefined {
    const budget = this.opts.dailyBudget();
    return budget !== undefined && budget > 0 ? budget * this.opts.share : undefined;
  }

  /** The wait between the round that just ended and the next one. */
  intervalMs(nowMs: number): number {
    const min = this.opts.minIntervalMs;
    const max = Math.max(min, MAX_INTERVAL_MS);
    const allowed = this.allowedPerDay();
    this.prune(nowMs);
    if (allowed === undefined || this.firstSpendMs === undefined || this.recentRounds.length === 0) return min;
    const next = median(this.recentRounds);
    const target = PACE_TARGET * allowed;
    const first = this.firstSpendMs;
    // Walk forward from the poll interval: the window's spend drops only as its oldest minutes leave it,
    // and in the first day the room grows with time.
    let i = 0;
    const inWindowNow = this.buckets.reduce((n, b) => n + b.tokens, 0);
    let inWindow = inWindowNow;
    let t = nowMs + min;
    for (;;) {
      while (i < this.buckets.length && this.buckets[i]!.atMs <= t - DAY_MS) inWindow -= this.buckets[i++]!.tokens;
      if (inWindow + next <= target * Math.min(1, (t - first) / DAY_MS)) break;
      const exit = i < this.buckets.length ? this.buckets[i]!.atMs + DAY_MS : Number.POSITIVE_INFINITY;
      // The moment the first day's room has grown enough for what the window holds now.
      const ramp = inWindow + next <= target ? first + (DAY_MS * (inWindow + next)) / target : Number.POSITIVE_INFINITY;
      const later = Math.min(exit, Math.max(t + 1, Math.ceil(ramp)));
      if (later - nowMs >= max) return max;
      t = later;
    }
    const even = (DAY_MS * inWindowNow) / (target * Math.max(1, this.roundTimes.length));
    return Math.round(Math.min(max, Math.max(t - nowMs, even)));
  }

  private prune(nowMs: number): void {
    while (this.buckets.length > 0 && this.buckets[0]!.atMs <= nowMs - DAY_MS) this.buckets.shift();
    while (this.roundTimes.length > 0 && this.roundTimes[0]! <= nowMs - DAY_MS) this.roundTimes.shift();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
