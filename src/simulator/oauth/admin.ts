/**
 * /_sim/oauth: the OAuth server's counters and settings (never a token).
 *   GET  /_sim/oauth → {config, clients: [clientId], stats}
 *   POST /_sim/oauth {accessTokenTtlS?, refreshTokenIdleS?, rotateRefreshTokens?, autoApprove?, apiDomain?, scope?, revokeAll?: true}
 */
import express, { type Router } from 'express';
import { badRequest } from '../http/envelope.ts';
import type { SimOAuth, SimOAuthOptions } from './state.ts';

const NUMBERS = ['accessTokenTtlS', 'refreshTokenIdleS'];
const BOOLEANS = ['rotateRefreshTokens', 'autoApprove', 'revokeAll'];
const STRINGS = ['apiDomain', 'scope'];

export function oauthAdminRoutes(oauth: SimOAuth): Router {
  const r = express.Router();
  const state = () => ({ success: true, data: { config: oauth.config, clients: oauth.registered.map((c) => c.clientId), stats: oauth.stats() } });
  r.get('/oauth', (_req, res) => {
    res.json(state());
  });
  r.post('/oauth', (req, res) => {
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('Body must be a JSON object');
    const raw = body as Record<string, unknown>;
    for (const [k, v] of Object.entries(raw)) {
      const ok = NUMBERS.includes(k) ? typeof v === 'number' : BOOLEANS.includes(k) ? typeof v === 'boolean' : STRINGS.includes(k) ? typeof v === 'string' : null;
      if (ok === null) throw badRequest(`unknown oauth option: ${k}`);
      if (!ok) throw badRequest(`${k} has the wrong type`);
    }
    const { revokeAll, ...opts } = raw;
    try {
      oauth.configure(opts as Omit<SimOAuthOptions, 'clients'>);
    } catch (e) {
      if (e instanceof RangeError) throw badRequest(e.message);
      throw e;
    }
    if (revokeAll === true) oauth.revokeAll();
    res.json(state());
  });
  return r;
}
