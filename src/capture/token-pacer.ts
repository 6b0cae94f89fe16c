/**
 * The token budget share of steady-state polling. A connector may spend `share` of the company's daily
 * token budget on its incremental passes (the rest belongs to the company's other integrations and
 * people); the pacer stretches the interval between rounds so that the recent spend, carried over a day,
 * stays within that share:
 *
 *   allowed per day  A = share × daily budget (x-daily-ratelimit-token-limit, else DAILY_TOKEN_BUDGET)
 *   recent cost      c = tokens the incremental work spent in the last `windowMs` ÷ rounds ended in it
 *   interval         I = c × DAY ÷ (0.95 × A), never below POLL_INTERVAL_MS, at most max(windowMs, POLL_INTERVAL_MS)
 *
 * With rounds every I the spend rate is c ÷ I = 0.95 A per day: the 5 % left is headroom for what an
 * hour's window cannot spread evenly (a daily re-import costing more than an hour's share; measured: a
 * day paced at exactly A ended 0.7 % over it). Everything the incremental work spends counts —
 * daily re-imports, id scans, field catalogs, passes a webhook hint asked for — so a costly round or many
 * hinted passes make the next rounds sparser until they leave the window. First syncs, backfills and
 * re-syncs are not counted (the governor's reserve already holds them back). Without a known budget the
 * interval stays POLL_INTERVAL_MS. Pure arithmetic over the times it is given (the caller's clock).
 */
export const DAY_MS = 24 * 3600 * 1000;
/** The part of the share the pace aims at (see above). */
export const PACE_TARGET = 0.95;

export interface TokenPacerOptions {
  /** Fraction of the daily budget for this connector's incremental polling, 0 < share ≤ 1. */
  readonly share: number;
  /** The daily token budget: the API's header when it sent one, else the configured fallback, else undefined. */
  readonly dailyBudget: () => number | undefined;
  /** POLL_INTERVAL_MS: rounds never come faster. */
  readonly minIntervalMs: number;
  /** The sliding window the recent cost is averaged over (default one hour). */
  readonly windowMs?: number;
}

export class TokenPacer {
  private readonly spends: Array<{ atMs: number; tokens: number }> = [];
  private readonly rounds: number[] = [];
  private readonly windowMs: number;

  constructor(private readonly opts: TokenPacerOptions) {
    if (!(opts.share > 0 && opts.share <= 1)) throw new Error(`token pacer: share ${opts.share} is not in (0, 1]`);
    this.windowMs = opts.windowMs ?? 3600_000;
  }

  /** Tokens the incremental work spent at `atMs` (a table's poll, its field catalog, a hinted pass). */
  spent(tokens: number, atMs: number): void {
    if (tokens > 0) this.spends.push({ atMs, tokens });
  }

  /** A round (every table polled until none had anything new) ended at `atMs`. */
  roundEnded(atMs: number): void {
    this.rounds.push(atMs);
  }

  /** Tokens the incremental work spent within the window before `nowMs`. */
  windowTokens(nowMs: number): number {
    this.prune(nowMs);
    return this.spends.reduce((n, s) => n + s.tokens, 0);
  }

  /** The share of the daily budget this connector may spend, in tokens a day; undefined without a budget. */
  allowedPerDay(): number | undefined {
    const budget = this.opts.dailyBudget();
    return budget !== undefined && budget > 0 ? budget * this.opts.share : undefined;
  }

  /** The wait between the round that just ended and the next one. */
  intervalMs(nowMs: number): number {
    const min = this.opts.minIntervalMs;
    const allowed = this.allowedPerDay();
    const tokens = this.windowTokens(nowMs);
    if (allowed === undefined || this.rounds.length === 0 || tokens === 0) return min;
    const perRound = tokens / this.rounds.length;
    const paced = (perRound * DAY_MS) / (PACE_TARGET * allowed);
    return Math.round(Math.min(Math.max(min, paced), Math.max(min, this.windowMs)));
  }

  private prune(nowMs: number): void {
    const from = nowMs - this.windowMs;
    while (this.spends.length > 0 && this.spends[0]!.atMs <= from) this.spends.shift();
    while (this.rounds.length > 0 && this.rounds[0]! <= from) this.rounds.shift();
  }
}
