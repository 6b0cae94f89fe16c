import { describe, expect, it } from 'vitest';
import { SpendMeter } from '../../src/pipedrive/spend-meter.ts';

/** Oracle: the budget arithmetic of the answers, by hand. */
describe('SpendMeter', () => {
  const left = (n: number) => ({ 'x-daily-ratelimit-token-remaining': String(n) });

  it('counts what the daily budget lost between answers (no per-call cost header from Pipedrive)', () => {
    const m = new SpendMeter();
    m.observe(left(30_000), 0); // the first answer only tells where the budget stands
    m.observe(left(29_980), 0);
    m.observe(left(29_970), 0);
    expect(m.spent).toBe(30);
  });

  it('ignores an out-of-order answer of a concurrent call, and a reset at midnight', () => {
    const m = new SpendMeter();
    m.observe(left(1_000), 0);
    m.observe(left(980), 0);
    m.observe(left(990), 0); // answered later, sent earlier
    m.observe(left(970), 0);
    expect(m.spent).toBe(30);
    m.observe(left(30_000), 0); // a new day
    m.observe(left(29_990), 0);
    expect(m.spent).toBe(40);
  });

  it('uses x-token-cost where an answer carries it, and skips answers without budget headers', () => {
    const m = new SpendMeter();
    m.observe({}, 10);
    m.observe({ 'x-daily-ratelimit-token-remaining': 'soon' }, 0);
    m.observe({}, 0);
    expect(m.spent).toBe(10);
  });
});
