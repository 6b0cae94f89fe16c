/**
 * /_sim: control endpoints for tests, demos and benchmarks. They need no API token (they are not
 * part of Pipedrive's API; a sandbox user controls their own simulator).
 *   GET  /_sim/clock               → {now, now_seconds, frozen}
 *   POST /_sim/clock {advanceMs} | {set: "<RFC 3339>"} | {freeze: true|false}  (combinable)
 *   GET  /_sim/requests            → {total, byOperation}
 *   GET/POST /_sim/rate-limit, GET/POST/DELETE /_sim/faults: see rate-limit-admin.ts, faults-admin.ts
 */
import express, { type Router } from 'express';
import type { SimClock } from '../clock.ts';
import { parseRfc3339 } from '../time.ts';
import { badRequest } from './envelope.ts';
import type { RequestCounter } from './middleware.ts';
import type { FaultInjector } from './faults.ts';
import { faultsAdminRoutes } from './faults-admin.ts';
import type { RateLimiter } from './rate-limit.ts';
import { rateLimitAdminRoutes } from './rate-limit-admin.ts';

export interface AdminParts {
  rateLimit?: RateLimiter;
  faults?: FaultInjector;
}

export function adminRouter(clock: SimClock, counter: RequestCounter, parts: AdminParts = {}): Router {
  const r = express.Router();
  const clockState = () => ({
    success: true,
    data: { now: clock.now().toISOString(), now_seconds: clock.nowSeconds(), frozen: clock.frozen },
  });

  r.get('/clock', (_req, res) => {
    res.json(clockState());
  });

  r.post('/clock', (req, res) => {
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Body must be a JSON object');
    const { advanceMs, set, freeze } = body as Record<string, unknown>;
    if (advanceMs === undefined && set === undefined && freeze === undefined) {
      throw badRequest('Give advanceMs (number), set (RFC 3339) and/or freeze (boolean)');
    }
    if (advanceMs !== undefined && (typeof advanceMs !== 'number' || !Number.isFinite(advanceMs))) {
      throw badRequest('advanceMs must be a finite number');
    }
    const setMs = set === undefined ? undefined : typeof set === 'string' ? parseRfc3339(set) : null;
    if (setMs === null) throw badRequest('set must be an RFC 3339 date-time');
    if (freeze !== undefined && typeof freeze !== 'boolean') throw badRequest('freeze must be a boolean');

    if (freeze === true) clock.freeze();
    if (setMs !== undefined) clock.set(new Date(setMs));
    if (advanceMs !== undefined) clock.advance(advanceMs);
    if (freeze === false) clock.unfreeze();
    res.json(clockState());
  });

  r.get('/requests', (_req, res) => {
    res.json({ success: true, data: counter.snapshot() });
  });
  if (parts.rateLimit) r.use(rateLimitAdminRoutes(parts.rateLimit));
  if (parts.faults) r.use(faultsAdminRoutes(parts.faults));
  return r;
}
