import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { Rng } from '../../src/simulator/prng.ts';
import { deriveToken, seedDeals } from '../../src/simulator/seed.ts';
import { createStore, type Deal } from '../../src/simulator/store/index.ts';
import { T0, T0_SEC, V2_TIME } from './helpers.ts';

function generate(seed: number, count: number): Deal[] {
  const store = createStore(new SimClock({ start: T0, frozen: true }));
  seedDeals(store, seed, count);
  return store.deals.table.all().map((r) => r.data);
}

describe('seeded generator', () => {
  it('gives the same deals for the same seed and clock, different ones for another seed', () => {
    expect(generate(7, 200)).toEqual(generate(7, 200));
    expect(generate(8, 200)).not.toEqual(generate(7, 200));
  });

  it('spreads plausible deals over the 90 days before now, ids ascending with add_time', () => {
    const deals = generate(3, 1000);
    expect(deals.map((d) => d.id)).toEqual(deals.map((_, i) => i + 1));
    const secs = (t: string): number => Date.parse(t) / 1000;
    for (const [i, d] of deals.entries()) {
      expect(d.add_time).toMatch(V2_TIME);
      expect(d.update_time).toMatch(V2_TIME);
      expect(secs(d.add_time)).toBeGreaterThanOrEqual(T0_SEC - 90 * 86400);
      expect(secs(d.update_time)).toBeGreaterThanOrEqual(secs(d.add_time));
      expect(secs(d.update_time)).toBeLessThanOrEqual(T0_SEC);
      if (i > 0) expect(secs(d.add_time)).toBeGreaterThanOrEqual(secs(deals[i - 1]!.add_time));
      expect(d.won_time !== null).toBe(d.status === 'won');
      expect(d.lost_time !== null).toBe(d.status === 'lost');
      expect(d.lost_reason !== null).toBe(d.status === 'lost');
    }
    const statuses = new Set(deals.map((d) => d.status));
    expect(statuses).toEqual(new Set(['open', 'won', 'lost']));
    expect(new Set(deals.map((d) => d.currency)).size).toBeGreaterThan(1);
    expect(new Set(deals.map((d) => d.owner_id)).size).toBeGreaterThan(1);
    expect(new Set(deals.map((d) => d.pipeline_id))).toEqual(new Set([1, 2]));
  });

  it('derives a 40-hex token from the seed, or a random one without', () => {
    expect(deriveToken(5)).toBe(deriveToken(5));
    expect(deriveToken(5)).not.toBe(deriveToken(6));
    expect(deriveToken(5)).toMatch(/^[0-9a-f]{40}$/);
    expect(deriveToken()).toMatch(/^[0-9a-f]{40}$/);
    expect(deriveToken()).not.toBe(deriveToken());
  });

  it('Rng stays within bounds', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 1000; i++) {
      const n = rng.int(3, 5);
      expect(n >= 3 && n <= 5).toBe(true);
    }
    expect(() => rng.pick([])).toThrow(RangeError);
  });
});
