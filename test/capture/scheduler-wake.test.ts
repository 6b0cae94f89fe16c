/**
 * TableScheduler.wake(table): a webhook hint polls its table at once and alone; the other tables keep
 * their interval, and the regular round stays due when it was. Oracle: the fake sources count their polls.
 */
import { describe, expect, it } from 'vitest';
import type { ChangeBatch } from '../../src/capture/change.ts';
import { TableScheduler } from '../../src/capture/scheduler.ts';
import { ChangeHints } from '../../src/capture/recents-gate.ts';
import type { TableRuntime } from '../../src/capture/table-runtime.ts';

/** A table whose every pass is one empty poll (nothing new); `during` runs inside the poll. */
function fakeTable(name: string) {
  const t = {
    polls: 0,
    during: undefined as (() => void) | undefined,
    base: { name },
    source: {
      poll: async (): Promise<ChangeBatch | null> => {
        t.polls++;
        const f = t.during;
        t.during = undefined;
        f?.();
        await new Promise((r) => setTimeout(r, 5));
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

function scheduler(tables: ReturnType<typeof fakeTable>[], pollIntervalMs: number, budgetLow = () => false) {
  const passes: string[] = [];
  const s = new TableScheduler({
    tables: tables as unknown as TableRuntime[],
    publish: async () => undefined,
    flush: async () => undefined,
    schemaChanged: async () => undefined,
    passEnded: async (t) => void passes.push(t.base.name),
    budgetLow,
    serverNowMs: () => Date.now(),
    log: () => undefined,
    pollIntervalMs,
    failedTableRetryMs: 60_000,
    customFieldsRefreshMs: 60_000,
  });
  return { s, passes };
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
};

describe('TableScheduler.wake(table)', () => {
  it('polls only the woken table, resolving when its pass ended; the others wait for their interval', async () => {
    const a = fakeTable('a');
    const b = fakeTable('b');
    const { s, passes } = scheduler([a, b], 60_000);
    const abort = new AbortController();
    const done = s.run(abort.signal, false);
    await until(() => a.polls === 1 && b.polls === 1);
    expect([a.changeHints.take(), b.changeHints.take()], 'regular passes are not hinted').toEqual([false, false]);

    expect(await s.wake('a')).toBe(true);
    expect([a.polls, b.polls]).toEqual([2, 1]);
    // The woken pass was marked as hinted (its Recents check is skipped; the fake source leaves the mark).
    expect([a.changeHints.take(), b.changeHints.take()]).toEqual([true, false]);
    expect(await s.wake('b')).toBe(true);
    expect([a.polls, b.polls]).toEqual([2, 2]);

    // A hint during the table's pass asks for one more pass (the first may have read before the change).
    let second: Promise<boolean> | undefined;
    a.during = () => void (second = s.wake('a'));
    expect(await s.wake('a')).toBe(true);
    expect(await second).toBe(true);
    expect([a.polls, b.polls]).toEqual([4, 2]);
    expect(passes).toEqual(['a', 'b', 'a', 'b', 'a', 'a']);

    // Not a table of this scheduler: nothing to wait for.
    expect(await s.wake('nope')).toBe(false);

    abort.abort();
    await done;
    // Stopped: a wake resolves at once, false.
    expect(await s.wake('a')).toBe(false);
  });

  it('with the day\'s budget low, a hint spends nothing', async () => {
    const a = fakeTable('a');
    let low = false;
    const { s } = scheduler([a], 60_000, () => low);
    const abort = new AbortController();
    const done = s.run(abort.signal, false);
    await until(() => a.polls === 1);
    low = true;
    expect(await s.wake('a')).toBe(false);
    expect(a.polls).toBe(1);
    low = false;
    expect(await s.wake('a')).toBe(true);
    expect(a.polls).toBe(2);
    abort.abort();
    await done;
  });

  it('the regular round stays due when it was: urgent passes do not push it back', async () => {
    const a = fakeTable('a');
    const b = fakeTable('b');
    const { s } = scheduler([a, b], 400);
    const abort = new AbortController();
    const done = s.run(abort.signal, false);
    await until(() => b.polls === 1);
    const started = Date.now();
    // Hints keep coming faster than the interval: b is still polled about every 400 ms.
    while (Date.now() - started < 1000) {
      await s.wake('a');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(b.polls).toBeGreaterThanOrEqual(3);
    expect(a.polls).toBeGreaterThan(b.polls + 5);
    abort.abort();
    await done;
  });
});
