/**
 * The token budget share: the pacing arithmetic (TokenPacer) and the scheduler waiting by it. Oracles: the
 * formula I = (window tokens ÷ rounds) × day ÷ (share × budget), worked out by hand; the fake tables count
 * their polls and the tokens they "spent".
 */
import { describe, expect, it } from 'vitest';
import type { ChangeBatch } from '../../src/capture/change.ts';
import { TableScheduler } from '../../src/capture/scheduler.ts';
import type { TableRuntime } from '../../src/capture/table-runtime.ts';
import { DAY_MS, PACE_TARGET, TokenPacer } from '../../src/capture/token-pacer.ts';

const HOUR = 3_600_000;

describe('TokenPacer', () => {
  const pacer = (budget: number | undefined, share = 0.1, minIntervalMs = 30_000) => new TokenPacer({ share, dailyBudget: () => budget, minIntervalMs });

  it('stretches the interval so that the recent cost per round, over a day, is the share of the budget', () => {
    // 600,000 a day (Growth, 10 seats) × 10 % = 60,000 a day, aimed at 95 % of it. Rounds of 40 tokens:
    // 1,425 rounds a day = every 60.63 s.
    const p = pacer(600_000);
    let t = 0;
    for (let i = 0; i < 10; i++) {
      p.spent(40, (t += 1000));
      p.roundEnded((t += 1000));
    }
    expect(p.allowedPerDay()).toBe(60_000);
    expect(p.windowTokens(t)).toBe(400);
    expect(PACE_TARGET).toBe(0.95);
    expect(p.intervalMs(t)).toBe(60_632);
  });

  it('never polls faster than POLL_INTERVAL_MS, and waits at most the window', () => {
    const cheap = pacer(600_000);
    cheap.spent(5, 1);
    cheap.roundEnded(2);
    expect(cheap.intervalMs(2)).toBe(30_000); // 7.6 s by the budget
    const costly = pacer(600_000);
    costly.spent(10_000, 1); // a daily re-import: 4 h of the share
    costly.roundEnded(2);
    expect(costly.intervalMs(2)).toBe(HOUR);
  });

  it('counts only the window: a costly round stops weighing once it is an hour old', () => {
    const p = pacer(600_000);
    p.spent(2_000, 0);
    p.roundEnded(0);
    for (let t = 60_000; t <= 2 * HOUR; t += 60_000) {
      p.spent(20, t);
      p.roundEnded(t);
    }
    // Within the hour before 2 h: 60 rounds of 20 tokens — 1,200 tokens, 20 a round: 30.3 s.
    expect(p.windowTokens(2 * HOUR)).toBe(1_200);
    expect(p.intervalMs(2 * HOUR)).toBe(30_316);
    // Right after the costly round: (2,000 + 20) ÷ 2 rounds = 1,010 a round → 1,454.4 s ÷ 0.95.
    const q = pacer(600_000);
    q.spent(2_000, 0);
    q.roundEnded(0);
    q.spent(20, 1000);
    q.roundEnded(1000);
    expect(q.intervalMs(1000)).toBe(1_530_947);
  });

  it('spend between rounds (a hinted pass) weighs on the next interval', () => {
    const p = pacer(1_000_000, 0.05); // 50,000 a day
    p.spent(20, 1);
    p.roundEnded(2);
    expect(p.intervalMs(2)).toBe(36_379); // 34.56 s ÷ 0.95
    p.spent(20, 3); // a webhook's pass of one table
    p.spent(20, 4);
    p.roundEnded(5);
    expect(p.intervalMs(5)).toBe(54_568); // 60 tokens ÷ 2 rounds
  });

  it('without a known budget, or before anything was spent, the interval is POLL_INTERVAL_MS', () => {
    const p = pacer(undefined);
    p.spent(1_000, 1);
    p.roundEnded(2);
    expect(p.allowedPerDay()).toBeUndefined();
    expect(p.intervalMs(2)).toBe(30_000);
    expect(pacer(600_000).intervalMs(0)).toBe(30_000);
  });

  it('refuses a share outside (0, 1]', () => {
    expect(() => pacer(600_000, 0)).toThrow(/share/);
    expect(() => pacer(600_000, 1.5)).toThrow(/share/);
  });

  it('DAY_MS is a day', () => expect(DAY_MS).toBe(86_400_000));
});

/** A table each of whose polls "spends" `cost` tokens and finds nothing new. */
function costlyTable(name: string, cost: number, spent: { n: number }, live = true) {
  const t = {
    polls: [] as number[],
    base: { name },
    lastCommitted: { snapshotDone: live },
    source: {
      poll: async (): Promise<ChangeBatch | null> => {
        t.polls.push(Date.now());
        spent.n += cost;
        return null;
      },
    },
    customFieldsDue: () => false,
    committed: () => undefined,
    reset: () => undefined,
  };
  return t;
}

describe('TableScheduler with a token budget share', () => {
  it('waits by the share between steady-state rounds, not charging a table in its first sync, charging hinted passes', async () => {
    const spent = { n: 0 };
    const a = costlyTable('a', 10, spent);
    const b = costlyTable('b', 10, spent);
    const first = costlyTable('first', 1_000, spent, false); // first sync: governed by the reserve, not paced
    // 20 tokens a round (a + b); 200 ms a round needs 20 × day ÷ 200 ms tokens a day (÷ 0.95: the target).
    const budget = (20 * DAY_MS) / 200 / PACE_TARGET;
    const pacer = new TokenPacer({ share: 1, dailyBudget: () => budget, minIntervalMs: 20 });
    const paced: number[] = [];
    const s = new TableScheduler({
      tables: [a, b, first] as unknown as TableRuntime[],
      publish: async () => undefined,
      flush: async () => undefined,
      schemaChanged: async () => undefined,
      budgetLow: () => false,
      serverNowMs: () => Date.now(),
      log: () => undefined,
      pollIntervalMs: 20,
      failedTableRetryMs: 60_000,
      customFieldsRefreshMs: 60_000,
      pacer,
      tokensSpent: () => spent.n,
      hooks: { onPacing: (ms) => void paced.push(ms) },
    });
    const abort = new AbortController();
    const done = s.run(abort.signal, false);
    await new Promise((r) => setTimeout(r, 1_100));
    // At the 20 ms floor there would be ~50 rounds; paced at 200 ms, about 6.
    expect(a.polls.length).toBeGreaterThanOrEqual(4);
    expect(a.polls.length).toBeLessThanOrEqual(7);
    expect(paced.every((ms) => ms === 200)).toBe(true);
    const gaps = a.polls.slice(1).map((at, i) => at - a.polls[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(190);

    // Three hinted passes of `a` (10 tokens each) before the next round: the next wait grows to
    // (window tokens ÷ rounds) × day ÷ budget.
    for (let i = 0; i < 3; i++) await s.wake('a');
    const rounds = paced.length;
    await new Promise((r) => setTimeout(r, 400));
    abort.abort();
    await done;
    expect(paced.length).toBeGreaterThan(rounds);
    const expected = Math.round((((rounds + 1) * 20 + 30) / (rounds + 1)) * 200 / 20);
    expect(paced[rounds]).toBe(expected);
  });
});
