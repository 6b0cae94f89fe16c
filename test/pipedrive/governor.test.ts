import { describe, expect, it } from 'vitest';
import { RateGovernor, nextUtcMidnight } from '../../src/pipedrive/governor.ts';

/** A fake clock the governor sleeps on: sleeping advances it, so tests run instantly and deterministically. */
function clock(start = Date.UTC(2026, 0, 1, 12)) {
  let t = start;
  const waits: Array<[string, number]> = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    onWait: (reason: string, ms: number) => waits.push([reason, ms]),
    waits,
  };
}

describe('RateGovernor', () => {
  it('never lets more requests than the burst limit (minus one of slack) into any 2-second window', async () => {
    const c = clock();
    const g = new RateGovernor({ now: c.now, sleep: c.sleep, onWait: c.onWait });
    g.observe({ 'x-ratelimit-limit': '10' }, 200);
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      await g.acquire(c.now);
      times.push(c.now());
    }
    for (const t of times) expect(times.filter((u) => u > t - 2000 && u <= t).length).toBeLessThanOrEqual(9);
    expect(c.waits.some(([r]) => r === 'burst')).toBe(true);
  });

  it('waits out a 429 for x-ratelimit-reset seconds', async () => {
    const c = clock();
    const g = new RateGovernor({ now: c.now, sleep: c.sleep });
    const before = c.now();
    g.observe({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' }, 429);
    await g.acquire(c.now);
    expect(c.now() - before).toBeGreaterThanOrEqual(2000);
  });

  it('holds backfills below the daily reserve, and sleeps (probing rarely) until midnight when the budget is spent', async () => {
    const c = clock();
    const g = new RateGovernor({ now: c.now, sleep: c.sleep, onWait: c.onWait, dailyProbeMs: 300_000 });
    g.observe({ 'x-daily-ratelimit-token-limit': '1000', 'x-daily-ratelimit-token-remaining': '500' }, 200);
    expect(g.budgetLow()).toBe(false);
    g.observe({ 'x-daily-ratelimit-token-limit': '1000', 'x-daily-ratelimit-token-remaining': '100' }, 200);
    expect(g.budgetLow()).toBe(true);
    g.observe({ 'x-daily-ratelimit-token-limit': '1000', 'x-daily-ratelimit-token-remaining': '0', date: new Date(c.now()).toUTCString() }, 429);
    let probes = 0;
    // Each acquire is one request; the API answers 429 until its midnight, then resets the budget.
    while (c.now() < nextUtcMidnight(Date.UTC(2026, 0, 1, 12))) {
      await g.acquire(c.now);
      probes++;
      const reset = c.now() >= nextUtcMidnight(Date.UTC(2026, 0, 1, 12));
      g.observe({ 'x-daily-ratelimit-token-limit': '1000', 'x-daily-ratelimit-token-remaining': reset ? '1000' : '0' }, reset ? 200 : 429);
    }
    // 12 hours at one probe per 5 minutes at most: no busy loop.
    expect(probes).toBeLessThanOrEqual(12 * 12 + 2);
    expect(g.dailyTokensRemaining).toBe(1000);
  });
});
