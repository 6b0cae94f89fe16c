import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import type { Simulator } from '../../src/simulator/server.ts';
import { parseSimArgs } from '../../src/simulator/cli.ts';
import { client, startFrozen, type DataBody, type ErrorBody, type Reply, T0 } from './helpers.ts';

const RATE_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset',
  'x-daily-ratelimit-token-limit', 'x-daily-ratelimit-token-remaining'];

function rateHeaders(r: Reply): Record<string, number> {
  return Object.fromEntries(RATE_HEADERS.map((h) => [h, Number(r.headers.get(h))]));
}

function expectOverLimit(r: Reply<ErrorBody>): void {
  expect(r.status).toBe(429);
  expect(r.headers.get('content-type')).toMatch(/application\/json/);
  expect(r.body).toMatchObject({ success: false, error: 'Request over limit', errorCode: 429, error_info: expect.any(String) });
}

let sim: Simulator;
let started: Simulator[] = [];
const start = async (opts: Parameters<typeof startFrozen>[0]): Promise<Simulator> => {
  const s = await startFrozen(opts);
  started.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(started.map((s) => s.close()));
  started = [];
});

describe('rate-limit headers', () => {
  it('are on every API answer: list, get, create, update, delete, 400, 404, 429 and injected 5xx', async () => {
    sim = await start({ deals: 3, rateLimit: { burst: 8 } });
    const api = client(sim);
    const answers: Reply[] = [
      await api.get('/api/v2/deals'),
      await api.get('/api/v2/deals/1'),
      await api.post('/api/v2/deals', { title: 'x' }),
      await api.patch('/api/v2/deals/1', { title: 'y' }),
      await api.del('/api/v2/deals/2'),
      await api.get('/api/v2/deals', { limit: 501 }),
      await api.get('/api/v2/deals/999'),
    ];
    sim.faults.add({ kind: 'status', status: 503, nth: 1 });
    answers.push(await api.get('/api/v2/deals/1'));
    answers.push(await api.get('/api/v2/deals/1')); // the 9th call in the window: over the burst of 8
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 400, 404, 503, 429]);
    for (const [i, r] of answers.entries()) {
      for (const h of RATE_HEADERS) expect(r.headers.get(h), `answer ${i}: ${h}`).toMatch(/^\d+$/);
    }
    expect(rateHeaders(answers[0]!)).toEqual({
      'x-ratelimit-limit': 8, 'x-ratelimit-remaining': 7, 'x-ratelimit-reset': 2,
      'x-daily-ratelimit-token-limit': 30_000, 'x-daily-ratelimit-token-remaining': 30_000 - 10,
    });
    expect(rateHeaders(answers[8]!)['x-ratelimit-remaining']).toBe(0);
  });

  it('are reported without enforcement by default (nothing refused past the burst on a frozen clock)', async () => {
    sim = await start({ deals: 1 });
    const api = client(sim);
    for (let i = 0; i < 30; i++) expect((await api.get('/api/v2/deals/1')).status).toBe(200);
    const last = await api.get('/api/v2/deals/1');
    expect(rateHeaders(last)).toMatchObject({ 'x-ratelimit-limit': 20, 'x-ratelimit-remaining': 0, 'x-daily-ratelimit-token-remaining': 30_000 - 31 });
    expect(sim.rateLimit.stats()).toMatchObject({ requests: 31, peakRequestsPerWindow: 31, rejected429: { total: 0 } });
  });
});

describe('burst window (per token, rolling 2 s of sim time)', () => {
  it('answers 429 past the limit and recovers as calls leave the window', async () => {
    sim = await start({ deals: 1, rateLimit: { burst: 3 } });
    const api = client(sim);
    expect((await api.get('/api/v2/deals/1')).status).toBe(200); // t = 0
    sim.clock.advance(1000);
    expect((await api.get('/api/v2/deals/1')).status).toBe(200); // t = 1 s
    const third = await api.get('/api/v2/deals/1');
    expect(rateHeaders(third)).toMatchObject({ 'x-ratelimit-remaining': 0, 'x-ratelimit-reset': 1 });

    const refused = await api.get<ErrorBody>('/api/v2/deals/1');
    expectOverLimit(refused);
    expect(refused.body.error_info).toMatch(/3 requests per 2 seconds/);
    expect(rateHeaders(refused)['x-ratelimit-reset']).toBeLessThanOrEqual(2);

    sim.clock.advance(999); // t = 1.999 s: the call at 0 is still inside (−0.001 s, 1.999 s]
    expectOverLimit(await api.get<ErrorBody>('/api/v2/deals/1'));
    sim.clock.advance(1); // t = 2 s: the call at 0 has left; the two at 1 s have not
    expect((await api.get('/api/v2/deals/1')).status).toBe(200);
    expectOverLimit(await api.get<ErrorBody>('/api/v2/deals/1'));
    sim.clock.advance(1000);
    expect((await api.get('/api/v2/deals/1')).status).toBe(200);

    const stats = sim.rateLimit.stats();
    expect(stats.rejected429).toEqual({ burst: 3, daily: 0, total: 3 });
    expect(stats.peakRequestsPerWindow).toBe(3);
    expect(stats.requests).toBe(5);
  });

  it('escalates to Cloudflare\'s HTML 403 after repeated 429s when configured, then lets the token back', async () => {
    sim = await start({ deals: 1, rateLimit: { burst: 1, blockAfter429s: 2, blockMs: 60_000 } });
    const api = client(sim);
    expect((await api.get('/api/v2/deals/1')).status).toBe(200);
    expect((await api.get('/api/v2/deals/1')).status).toBe(429);
    expect((await api.get('/api/v2/deals/1')).status).toBe(429);
    sim.clock.advance(5000); // the burst window is free again, but the token is blocked
    const blocked = await fetch(`${sim.baseUrl}/api/v2/deals/1`, { headers: { 'x-api-token': sim.token } });
    expect(blocked.status).toBe(403);
    expect(blocked.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await blocked.text()).toMatch(/Cloudflare/);
    sim.clock.advance(60_000);
    expect((await api.get('/api/v2/deals/1')).status).toBe(200);
    expect(sim.rateLimit.stats().blocked403).toBe(1);
  });
});

describe('daily token budget (company, resets at midnight UTC of the sim clock)', () => {
  it('a frozen clock starts exactly at its start instant, even if real time ticks while it is built', () => {
    let real = 1_000;
    const now = vi.spyOn(Date, 'now').mockImplementation(() => (real += 1)); // every read is a new millisecond
    try {
      expect(new SimClock({ start: T0, frozen: true }).nowMs()).toBe(T0.getTime());
    } finally {
      now.mockRestore();
    }
  });

  it('derives the budget from plan × seats, or takes it explicitly', async () => {
    sim = await start({ rateLimit: { plan: 'premium', seats: 3 } });
    expect(sim.rateLimit.config).toMatchObject({ dailyBudget: 30_000 * 5 * 3, burst: 100, enforce: true });
    sim.rateLimit.configure({ dailyBudget: 1234, burst: 7 });
    expect(sim.rateLimit.config).toMatchObject({ dailyBudget: 1234, burst: 7 });
    sim.rateLimit.configure({ dailyBudget: null, burst: null, plan: 'growth' });
    expect(sim.rateLimit.config).toMatchObject({ dailyBudget: 30_000 * 2 * 3, burst: 40, planMultiplier: 2 });
  });

  it('stays 429 until the clock crosses midnight (library clock), then starts a fresh budget', async () => {
    sim = await start({ deals: 1, rateLimit: { dailyBudget: 25 } });
    const api = client(sim);
    expect((await api.get('/api/v2/deals')).status).toBe(200); // 10
    expect((await api.get('/api/v2/deals')).status).toBe(200); // 20
    const refused = await api.get<ErrorBody>('/api/v2/deals'); // 10 > 5 left
    expectOverLimit(refused);
    expect(refused.body.error_info).toMatch(/daily API token budget of 25/);
    expect(rateHeaders(refused)).toMatchObject({ 'x-daily-ratelimit-token-limit': 25, 'x-daily-ratelimit-token-remaining': 5 });

    // Hours later, with the burst window long empty: still refused.
    sim.clock.set(new Date('2026-01-15T23:59:59Z'));
    expectOverLimit(await api.get<ErrorBody>('/api/v2/deals'));
    sim.clock.advance(1000); // 2026-01-16T00:00:00Z
    const fresh = await api.get('/api/v2/deals');
    expect(fresh.status).toBe(200);
    expect(rateHeaders(fresh)['x-daily-ratelimit-token-remaining']).toBe(15);
    expect(sim.rateLimit.stats()).toMatchObject({ day: '2026-01-16', tokensSpentToday: 10, tokensSpentTotal: 30, rejected429: { daily: 2 } });
  });

  it('crosses days through POST /_sim/clock too, and GET /_sim/rate-limit shows the counters', async () => {
    sim = await start({ deals: 1, rateLimit: { dailyBudget: 10 } });
    const api = client(sim);
    const clock = (body: unknown) =>
      fetch(`${sim.baseUrl}/_sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const counters = async () => ((await (await fetch(`${sim.baseUrl}/_sim/rate-limit`)).json()) as DataBody<Record<string, unknown>>).data;

    expect((await api.get('/api/v2/deals')).status).toBe(200);
    expect((await api.get('/api/v2/deals/1')).status).toBe(429);
    expect(await counters()).toMatchObject({ day: '2026-01-15', tokensSpentToday: 10, dailyRemaining: 0, rejected429: { daily: 1, total: 1 } });

    expect((await clock({ advanceMs: 11 * 3600_000 })).status).toBe(200); // 23:00
    expect((await api.get('/api/v2/deals/1')).status).toBe(429);
    expect((await clock({ set: '2026-01-16T00:00:00Z' })).status).toBe(200);
    expect((await api.get('/api/v2/deals/1')).status).toBe(200);
    expect(await counters()).toMatchObject({ day: '2026-01-16', tokensSpentToday: 1, dailyRemaining: 9, tokensSpentTotal: 11 });

    // Moving back to an earlier day starts that day afresh as well (the budget belongs to "today").
    expect((await clock({ set: T0.toISOString() })).status).toBe(200);
    expect(await counters()).toMatchObject({ day: '2026-01-15', tokensSpentToday: 0 });
  });
});

describe('/_sim/rate-limit admin', () => {
  it('reconfigures at runtime, resets counters, and rejects nonsense with 400', async () => {
    sim = await start({ deals: 1 });
    const post = (body: unknown) =>
      fetch(`${sim.baseUrl}/_sim/rate-limit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const api = client(sim);
    await api.get('/api/v2/deals');
    const r = await post({ enforce: true, burst: 1, reset: true });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ success: true, data: { config: { enforce: true, burst: 1 }, requests: 0, tokensSpentToday: 0 } });
    expect((await api.get('/api/v2/deals/1')).status).toBe(200);
    expect((await api.get('/api/v2/deals/1')).status).toBe(429);

    for (const bad of [{ burst: 0 }, { burst: 'many' }, { plan: 'gold' }, { dailyBudget: -1 }, { nope: 1 }, { reset: 'yes' }, [1]]) {
      const res = await post(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(await res.json()).toMatchObject({ success: false });
    }
    expect(sim.rateLimit.config.burst).toBe(1); // a rejected change leaves the config alone
  });
});

describe('CLI flags', () => {
  it('--daily-budget, --burst and --plan turn enforcement on', () => {
    expect(parseSimArgs(['--daily-budget', '5000', '--burst=10', '--plan', 'growth'])).toEqual({
      port: 8080, rateLimit: { dailyBudget: 5000, burst: 10, plan: 'growth' },
    });
    expect(() => parseSimArgs(['--burst', 'fast'])).toThrow(/--burst must be an integer/);
    expect(() => parseSimArgs(['--plan', 'gold'])).toThrow(/--plan must be one of lite, growth, premium, ultimate/);
  });
});
