/**
 * The token budget share: the pacing arithmetic (TokenPacer) and the scheduler waiting by it. Oracles: the
 * rule "next round at the earliest t with spend in (t − 24 h, t] + the median round ≤ 95 % of share ×
 * budget (pro rata in the first day)", worked out by hand; the fake tables count their polls and the
 * tokens they "spent".
 */
import { describe, expect, it } from 'vitest';
import type { ChangeBatch } from '../../src/capture/change.ts';
import { TableScheduler } from '../../src/capture/scheduler.ts';
import { ChangeHints } from '../../src/capture/recents-gate.ts';
import type { TableRuntime } from '../../src/capture/table-runtime.ts';
import { DAY_MS, PACE_TARGET, TokenPacer } from '../../src/capture/token-pacer.ts';

describe('TokenPacer', () => {
  const pacer = (budget: number | undefined, share = 0.1, minIntervalMs = 30_000) => new TokenPacer({ share, dailyBudget: () => budget, minIntervalMs });
  // 600,000 a day (Growth, 10 seats) × 10 % = 60,000 a day, aimed at 95 %: 57,000.

  it('in its first day, allows the share pro rata: the next round when the spend so far fits', () => {
    const p = pacer(600_000);
    p.spent(40, 0);
    p.roundEnded(0);
    expect(p.allowedPerDay()).toBe(60_000);
    expect(PACE_TARGET).toBe(0.95);
    // 40 spent + 40 for the next round fit into 57,000 × t ÷ day at t = 121,263.2 ms.
    expect(p.intervalMs(0)).toBe(121_264);
  });

  it('with a day of history, waits until enough of the oldest spend has left the 24-hour window', () => {
    const p = pacer(600_000);
    for (let t = 0; t < DAY_MS; t += 60_000) {
      p.spent(40, t);
      p.roundEnded(t);
    }
    const now = DAY_MS - 60_000;
    expect(p.windowTokens(now)).toBe(57_600);
    // 57,600 + 40 must drop to 57,000: the 16 oldest minutes (640 tokens) leave, the 16th at 15 min + 24 h.
    expect(p.intervalMs(now)).toBe(16 * 60_000);
  });

  it('never polls faster than POLL_INTERVAL_MS, and waits at most an hour', () => {
    const p = pacer(600_000);
    for (let t = 0; t < DAY_MS; t += 600_000) {
      p.spent(20, t);
      p.roundEnded(t);
    }
    // 2,880 in the window: room for many rounds; spread evenly, 144 rounds of 20 a day are one every 30.3 s.
    expect(p.intervalMs(DAY_MS)).toBe(30_316);
    p.spent(100_000, DAY_MS); // far more than the share
    p.roundEnded(DAY_MS);
    expect(p.intervalMs(DAY_MS)).toBe(3_600_000);
  });

  it('expects the next round to cost the median of the last rounds; a costly day spreads the rounds evenly', () => {
    const p = pacer(60_000); // 6,000 a day, aimed at 5,700
    p.spent(1, 0); // the pacer has a day of history
    [20, 20, 5_000, 20, 20].forEach((c, i) => {
      p.spent(c, DAY_MS - 10 + i);
      p.roundEnded(DAY_MS - 10 + i);
    });
    // 5,081 in the window: the median round (20) fits into 5,700 (the mean, 1,016, would not: the rounds
    // would stop until the costly one left the window); the day's 5 rounds spread evenly over what the
    // window holds: day × 5,081 ÷ (5,700 × 5) — more than an hour here, so an hour.
    expect(p.intervalMs(DAY_MS - 5)).toBe(3_600_000);
    const q = pacer(60_000);
    q.spent(1, 0);
    for (let i = 0; i < 100; i++) {
      q.spent(i === 50 ? 1_000 : 20, DAY_MS - 200 + i);
      q.roundEnded(DAY_MS - 200 + i);
    }
    // 100 rounds, 2,981 in the window (room left for the median 20): evenly, day × 2,981 ÷ (5,700 × 100).
    expect(q.intervalMs(DAY_MS - 100)).toBe(Math.round((DAY_MS * 2_981) / (5_700 * 100)));
  });

  it("spend between rounds (a hinted pass) is in the window and in the next round's cost", () => {
    const p = pacer(600_000);
    p.spent(20, 0);
    p.roundEnded(0);
    const alone = p.intervalMs(0);
    const q = pacer(600_000);
    q.spent(20, 0);
    q.spent(20, 0); // a webhook's pass of one table
    q.roundEnded(0);
    expect(q.intervalMs(0)).toBeGreaterThan(alone);
    expect(q.intervalMs(0)).toBe(Math.ceil((DAY_MS * 80) / 57_000));
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
    changeHints: new ChangeHints(),
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
    // 20 tokens a round (a + b): a budget whose share (aimed at 95 %) is 20 tokens every 200 ms.
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
    // At the 20 ms floor there would be ~50 rounds; paced, one every ~200 ms (the first wait ~400 ms: the
    // spend so far and the next round must fit the share pro rata). Were the first-sync table's 1,000 a
    // round counted, the second round would come ~10 s later.
    expect(a.polls.length).toBeGreaterThanOrEqual(3);
    expect(a.polls.length).toBeLessThanOrEqual(7);
    const gaps = a.polls.slice(1).map((at, i) => at - a.polls[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
    expect(Math.max(...paced)).toBeLessThan(500);

    // Three hinted passes of `a` (10 tokens each): 30 tokens more in the window, 300 ms more of the share.
    for (let i = 0; i < 3; i++) await s.wake('a');
    const rounds = paced.length;
    await new Promise((r) => setTimeout(r, 800));
    abort.abort();
    await done;
    expect(paced.length).toBeGreaterThan(rounds);
    expect(paced[rounds]).toBeGreaterThanOrEqual(300);
  });
});
