/**
 * Pipedrive's token-based rate limits, as an interceptor on the operation seam:
 * - a daily company budget (30,000 × plan multiplier × seats, or explicit) that each call spends by
 *   its operation's `x-token-cost`, reset at midnight UTC of the sim clock; once short, every call is
 *   429 until that midnight;
 * - a per-token rolling 2-second burst window of N requests (20/40/100/120 by plan);
 * - x-ratelimit-limit/-remaining/-reset and x-daily-ratelimit-token-limit/-remaining on every answer;
 * - optionally, Cloudflare's HTML 403 after repeated 429s.
 *
 * Without `enforce` the limiter only counts and reports (the headers stay truthful), so tests that
 * walk hundreds of pages on a frozen clock are not refused.
 */
import type { Request, Response } from 'express';
import type { SimClock } from '../clock.ts';
import { ERROR_INFO } from './envelope.ts';
import { sendCloudflare403 } from './faults-pages.ts';
import { operationOf, type SimInterceptor } from './middleware.ts';
import { apiVersionOf, costOf, type CostTable } from './rate-limit-costs.ts';
import { TimeWindow } from './rate-limit-window.ts';

export const PLANS = {
  lite: { multiplier: 1, burst: 20 },
  growth: { multiplier: 2, burst: 40 },
  premium: { multiplier: 5, burst: 100 },
  ultimate: { multiplier: 7, burst: 120 },
} as const;
export type Plan = keyof typeof PLANS;
export const TOKENS_PER_SEAT = 30_000;
const DAY_MS = 86_400_000;

export interface RateLimitOptions {
  /** Refuse over-limit calls with 429. Default: true when `rateLimit` is passed to startSimulator. */
  enforce?: boolean;
  /** Sets the multiplier and burst defaults (default "lite": ×1, 20 requests / 2 s). */
  plan?: Plan;
  planMultiplier?: number;
  seats?: number;
  /** Explicit daily budget in tokens; null goes back to 30,000 × multiplier × seats. */
  dailyBudget?: number | null;
  /** Requests per burst window per token; null goes back to the plan's. */
  burst?: number | null;
  burstWindowMs?: number;
  /** Price of operations in neither spec (listed as unpricedOperations). Default 1. */
  defaultCost?: number;
  /** Price overrides by operationId. */
  costs?: Record<string, number>;
  /** After this many 429s in a row for a token, answer Cloudflare's HTML 403 for `blockMs` (0 = never). */
  blockAfter429s?: number;
  blockMs?: number;
  /** Also send `x-token-cost` (simulator-only; the real API does not document such a header). */
  tokenCostHeader?: boolean;
}

export type ResolvedRateLimit = Required<Omit<RateLimitOptions, 'dailyBudget' | 'burst'>> & {
  dailyBudget: number;
  burst: number;
};

export interface RateLimitStats {
  config: ResolvedRateLimit;
  /** UTC day (sim clock) the budget is counting, YYYY-MM-DD. */
  day: string;
  tokensSpentToday: number;
  dailyRemaining: number;
  tokensSpentTotal: number;
  /** Calls let through (charged). */
  requests: number;
  /** Most requests any token had inside one burst window. */
  peakRequestsPerWindow: number;
  rejected429: { burst: number; daily: number; total: number };
  blocked403: number;
  byOperation: Record<string, { requests: number; tokens: number }>;
  unpricedOperations: string[];
}

const DEFAULTS: Omit<ResolvedRateLimit, 'dailyBudget' | 'burst'> = {
  enforce: false, plan: 'lite', planMultiplier: PLANS.lite.multiplier, seats: 1, burstWindowMs: 2000, defaultCost: 1,
  costs: {}, blockAfter429s: 0, blockMs: 60_000, tokenCostHeader: false,
};

interface TokenState {
  window: TimeWindow;
  consecutive429: number;
  blockedUntilMs: number;
}

export class RateLimiter {
  private opts: RateLimitOptions = {};
  private cfg!: ResolvedRateLimit;
  private day = -1;
  private spentToday = 0;
  private spentTotal = 0;
  private accepted = 0;
  private peak = 0;
  private readonly rejected = { burst: 0, daily: 0 };
  private blocked = 0;
  private readonly byOp = new Map<string, { requests: number; tokens: number }>();
  private readonly unpriced = new Set<string>();
  private readonly tokens = new Map<string, TokenState>();

  constructor(
    private readonly clock: SimClock,
    private readonly costTable: CostTable,
    opts: RateLimitOptions = {},
  ) {
    this.configure(opts);
  }

  /** Merge options into the current ones (counters are kept; see reset()). */
  configure(opts: RateLimitOptions): ResolvedRateLimit {
    const merged = { ...this.opts, ...opts };
    if (opts.plan !== undefined && opts.planMultiplier === undefined) delete merged.planMultiplier;
    const cfg = resolve(merged);
    this.opts = merged;
    this.cfg = cfg;
    return cfg;
  }

  get config(): ResolvedRateLimit {
    return { ...this.cfg, costs: { ...this.cfg.costs } };
  }

  /** Forget spending, windows, blocks and counters (the configuration stays). */
  reset(): void {
    this.day = -1;
    this.spentToday = this.spentTotal = this.accepted = this.peak = this.blocked = 0;
    this.rejected.burst = this.rejected.daily = 0;
    this.byOp.clear();
    this.unpriced.clear();
    this.tokens.clear();
  }

  /** The price this limiter charges for an operation in an API version. */
  costOf(operation: string, version: 'v1' | 'v2' = 'v2'): number {
    return this.cfg.costs[operation] ?? costOf(this.costTable, version, operation) ?? this.cfg.defaultCost;
  }

  stats(): RateLimitStats {
    this.rollDay(this.clock.nowMs());
    return {
      config: this.config,
      day: new Date(this.day * DAY_MS).toISOString().slice(0, 10),
      tokensSpentToday: this.spentToday,
      dailyRemaining: Math.max(0, this.cfg.dailyBudget - this.spentToday),
      tokensSpentTotal: this.spentTotal,
      requests: this.accepted,
      peakRequestsPerWindow: this.peak,
      rejected429: { ...this.rejected, total: this.rejected.burst + this.rejected.daily },
      blocked403: this.blocked,
      byOperation: Object.fromEntries([...this.byOp].map(([op, c]) => [op, { ...c }])),
      unpricedOperations: [...this.unpriced].sort(),
    };
  }

  interceptor(): SimInterceptor {
    return (req, res, next) => {
      const now = this.clock.nowMs();
      this.rollDay(now);
      const state = this.tokenState(tokenOf(req));
      state.window.evict(now, this.cfg.burstWindowMs);
      if (this.cfg.enforce && now < state.blockedUntilMs) {
        this.blocked += 1;
        sendCloudflare403(res);
        return;
      }
      const op = operationOf(res) ?? 'unknown';
      const version = apiVersionOf(req.originalUrl);
      if (this.cfg.costs[op] === undefined && costOf(this.costTable, version, op) === undefined) this.unpriced.add(op);
      const cost = this.costOf(op, version);

      // Daily first: it will not clear in two seconds, so it is the thing a client must learn.
      const over = cost > this.cfg.dailyBudget - this.spentToday ? 'daily' : state.window.size >= this.cfg.burst ? 'burst' : null;
      if (this.cfg.enforce && over) {
        this.rejected[over] += 1;
        state.consecutive429 += 1;
        if (this.cfg.blockAfter429s > 0 && state.consecutive429 >= this.cfg.blockAfter429s) {
          state.blockedUntilMs = now + this.cfg.blockMs;
          state.consecutive429 = 0;
        }
        this.setHeaders(res, state, now, cost);
        res.status(429).json(overLimitBody(over, this.cfg));
        return;
      }

      state.consecutive429 = 0;
      state.window.push(now);
      this.peak = Math.max(this.peak, state.window.size);
      this.spentToday += cost;
      this.spentTotal += cost;
      this.accepted += 1;
      const c = this.byOp.get(op) ?? { requests: 0, tokens: 0 };
      c.requests += 1;
      c.tokens += cost;
      this.byOp.set(op, c);
      this.setHeaders(res, state, now, cost);
      next();
    };
  }

  private setHeaders(res: Response, state: TokenState, now: number, cost: number): void {
    const { burst, burstWindowMs, dailyBudget } = this.cfg;
    const oldest = state.window.oldest();
    const resetMs = oldest === undefined ? burstWindowMs : oldest + burstWindowMs - now;
    res.set('x-ratelimit-limit', String(burst));
    res.set('x-ratelimit-remaining', String(Math.max(0, burst - state.window.size)));
    res.set('x-ratelimit-reset', String(Math.max(1, Math.ceil(resetMs / 1000))));
    res.set('x-daily-ratelimit-token-limit', String(dailyBudget));
    res.set('x-daily-ratelimit-token-remaining', String(Math.max(0, dailyBudget - this.spentToday)));
    if (this.cfg.tokenCostHeader) res.set('x-token-cost', String(cost));
  }

  /** The budget belongs to a UTC day of the sim clock; any change of day (either way) starts afresh. */
  private rollDay(now: number): void {
    const day = Math.floor(now / DAY_MS);
    if (day === this.day) return;
    this.day = day;
    this.spentToday = 0;
  }

  private tokenState(token: string): TokenState {
    let s = this.tokens.get(token);
    if (!s) {
      s = { window: new TimeWindow(), consecutive429: 0, blockedUntilMs: -Infinity };
      this.tokens.set(token, s);
    }
    return s;
  }
}

function tokenOf(req: Request): string {
  const header = req.get('x-api-token');
  if (header) return header;
  // OAuth: the access token (a new one every hour starts a fresh window, which a 2-second window hardly notices).
  const bearer = /^Bearer\s+(\S+)/i.exec(req.get('authorization') ?? '')?.[1];
  if (bearer) return bearer;
  const q: unknown = (req.query as Record<string, unknown>)['api_token'];
  return typeof q === 'string' ? q : '';
}

function overLimitBody(kind: 'burst' | 'daily', cfg: ResolvedRateLimit): Record<string, unknown> {
  const info = kind === 'burst'
    ? `Rate limit of ${cfg.burst} requests per ${cfg.burstWindowMs / 1000} seconds exceeded for this token. ${ERROR_INFO}`
    : `The company's daily API token budget of ${cfg.dailyBudget} is spent; it resets at midnight UTC. ${ERROR_INFO}`;
  return { success: false, error: 'Request over limit', errorCode: 429, error_info: info, data: null, additional_data: null };
}

/** Options → effective limits; throws RangeError on nonsense (admin and CLI turn it into a 400 / usage error). */
export function resolve(o: RateLimitOptions): ResolvedRateLimit {
  const plan = o.plan ?? DEFAULTS.plan;
  if (!(plan in PLANS)) throw new RangeError(`plan must be one of ${Object.keys(PLANS).join(', ')}`);
  const num = (key: keyof RateLimitOptions, v: unknown, min: number, int = true): void => {
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (int && !Number.isSafeInteger(v))) {
      throw new RangeError(`${key} must be ${int ? 'an integer' : 'a number'} ≥ ${min}`);
    }
  };
  num('planMultiplier', o.planMultiplier, 0, false);
  num('seats', o.seats, 1);
  num('dailyBudget', o.dailyBudget, 0);
  num('burst', o.burst, 1);
  num('burstWindowMs', o.burstWindowMs, 1);
  num('defaultCost', o.defaultCost, 0);
  num('blockAfter429s', o.blockAfter429s, 0);
  num('blockMs', o.blockMs, 0);
  for (const [op, cost] of Object.entries(o.costs ?? {})) num(`costs.${op}` as keyof RateLimitOptions, cost, 0);
  const planMultiplier = o.planMultiplier ?? PLANS[plan].multiplier;
  const seats = o.seats ?? DEFAULTS.seats;
  return {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)),
    plan,
    planMultiplier,
    seats,
    dailyBudget: o.dailyBudget ?? Math.round(TOKENS_PER_SEAT * planMultiplier * seats),
    burst: o.burst ?? PLANS[plan].burst,
  } as ResolvedRateLimit;
}
