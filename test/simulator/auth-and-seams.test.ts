import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { operationOf } from '../../src/simulator/http/middleware.ts';
import { client, startFrozen, type ErrorBody, type ListBody } from './helpers.ts';

const UNAUTHORIZED = {
  success: false,
  error: 'unauthorized access',
  errorCode: 401,
  error_info: 'Please check developers.pipedrive.com for more information about Pipedrive API.',
};

let sim: Simulator;
beforeEach(async () => {
  sim = await startFrozen({ deals: 3 });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await sim.close();
});

describe('auth', () => {
  it('answers a missing or wrong token with 401 and the exact Pipedrive body', async () => {
    for (const token of [null, 'wrong', `${sim.token}x`, '']) {
      const r = await client(sim, token).get<ErrorBody>('/api/v2/deals');
      expect(r.status, `token ${JSON.stringify(token)}`).toBe(401);
      expect(r.body).toEqual(UNAUTHORIZED);
    }
    // Unknown routes under the API are behind auth too.
    expect((await client(sim, null).get('/api/v2/nothing')).status).toBe(401);
  });

  it('accepts the x-api-token header and the api_token query parameter', async () => {
    expect((await client(sim).get<ListBody>('/api/v2/deals')).body.data).toHaveLength(3);
    const r = await client(sim, null).get<ListBody>('/api/v2/deals', { api_token: sim.token });
    expect(r.status).toBe(200);
  });

  it('never logs or echoes the token, even on failures', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => {}));
    sim.interceptors.push(() => {
      throw new Error('boom');
    });
    const r = await client(sim, null).get<ErrorBody>('/api/v2/deals', { api_token: sim.token });
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toContain(sim.token);
    for (const spy of spies) for (const call of spy.mock.calls) expect(JSON.stringify(call)).not.toContain(sim.token);
  });
});

describe('routing and envelopes', () => {
  it('unknown routes answer 404 JSON', async () => {
    const r = await client(sim).get<ErrorBody>('/api/v2/no-such-thing');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ success: false, error: expect.any(String) });
    const outside = await fetch(`${sim.baseUrl}/whatever`);
    expect(outside.status).toBe(404);
    expect(outside.headers.get('content-type')).toMatch(/json/);
  });

  it('sends x-ratelimit-* headers on API answers', async () => {
    const r = await client(sim).get('/api/v2/deals');
    expect(Number(r.headers.get('x-ratelimit-limit'))).toBeGreaterThan(0);
    expect(Number(r.headers.get('x-ratelimit-remaining'))).toBeLessThan(Number(r.headers.get('x-ratelimit-limit')));
    expect(Number(r.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
  });

  it('counts requests per operation, including 401s', async () => {
    const api = client(sim);
    await api.get('/api/v2/deals');
    await api.get('/api/v2/deals/1');
    await client(sim, 'bad').get('/api/v2/deals');
    expect(sim.requestCount.count()).toBe(3);
    expect(sim.requestCount.count('getDeals')).toBe(1);
    expect(sim.requestCount.count('getDeal')).toBe(1);
    expect(sim.requestCount.snapshot().byOperation).toMatchObject({ 'unmatched:401': 1 });
  });
});

describe('interceptor seam (for rate limits and fault injection)', () => {
  it('runs interceptors after routing, with the operation named, and lets them answer', async () => {
    const seen: string[] = [];
    sim.interceptors.push((_req, res, next) => {
      const op = operationOf(res) ?? '?';
      seen.push(op);
      if (op === 'getDeals') {
        res.status(503).json({ success: false, error: 'injected' });
        return;
      }
      next();
    });
    const api = client(sim);
    expect((await api.get('/api/v2/deals')).status).toBe(503);
    expect((await api.get('/api/v2/deals/1')).status).toBe(200);
    expect(seen).toEqual(['getDeals', 'getDeal']);
    sim.interceptors.pop();
    expect((await api.get('/api/v2/deals')).status).toBe(200);
  });

  it('supports async interceptors (e.g. a slow response)', async () => {
    sim.interceptors.push(async (_req, _res, next) => {
      await new Promise((r) => setTimeout(r, 20));
      next();
    });
    const t = Date.now();
    expect((await client(sim).get('/api/v2/deals')).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(15);
  });
});
