/**
 * /_sim/rate-limit: read the limiter's counters and change its limits at runtime.
 *   GET  /_sim/rate-limit → {config, day, tokensSpentToday, dailyRemaining, requests, peakRequestsPerWindow,
 *                            rejected429, blocked403, byOperation, unpricedOperations, …}
 *   POST /_sim/rate-limit {…RateLimitOptions, reset?: true} → the same, after applying
 */
import express, { type Router } from 'express';
import { badRequest } from './envelope.ts';
import { PLANS, type RateLimiter, type RateLimitOptions } from './rate-limit.ts';

const OPTION_KEYS: ReadonlySet<string> = new Set(['enforce', 'plan', 'planMultiplier', 'seats', 'dailyBudget', 'burst',
  'burstWindowMs', 'defaultCost', 'costs', 'blockAfter429s', 'blockMs', 'tokenCostHeader']);

export function rateLimitAdminRoutes(limiter: RateLimiter): Router {
  const r = express.Router();
  r.get('/rate-limit', (_req, res) => {
    res.json({ success: true, data: limiter.stats() });
  });
  r.post('/rate-limit', (req, res) => {
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Body must be a JSON object');
    const { reset, ...rest } = body as Record<string, unknown>;
    if (reset !== undefined && typeof reset !== 'boolean') throw badRequest('reset must be a boolean');
    let opts: RateLimitOptions;
    try {
      opts = parseRateLimitOptions(rest);
      limiter.configure(opts);
    } catch (e) {
      if (e instanceof RangeError) throw badRequest(e.message);
      throw e;
    }
    if (reset === true) limiter.reset();
    res.json({ success: true, data: limiter.stats() });
  });
  return r;
}

/** Shape-check JSON options (values are range-checked by the limiter). Throws RangeError. */
export function parseRateLimitOptions(raw: Record<string, unknown>): RateLimitOptions {
  for (const key of Object.keys(raw)) if (!OPTION_KEYS.has(key)) throw new RangeError(`unknown rate-limit option: ${key}`);
  for (const key of ['enforce', 'tokenCostHeader']) {
    if (raw[key] !== undefined && typeof raw[key] !== 'boolean') throw new RangeError(`${key} must be a boolean`);
  }
  if (raw['plan'] !== undefined && !(typeof raw['plan'] === 'string' && raw['plan'] in PLANS)) {
    throw new RangeError(`plan must be one of ${Object.keys(PLANS).join(', ')}`);
  }
  const costs = raw['costs'];
  if (costs !== undefined && (costs === null || typeof costs !== 'object' || Array.isArray(costs))) {
    throw new RangeError('costs must be an object of operationId → tokens');
  }
  for (const key of ['planMultiplier', 'seats', 'dailyBudget', 'burst', 'burstWindowMs', 'defaultCost', 'blockAfter429s', 'blockMs']) {
    const v = raw[key];
    const nullable = key === 'dailyBudget' || key === 'burst';
    if (v !== undefined && typeof v !== 'number' && !(nullable && v === null)) throw new RangeError(`${key} must be a number`);
  }
  return raw as RateLimitOptions;
}
