import { afterEach, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, runCli, uniqueName, type ConsumedRecord } from './support/harness.ts';
import { api } from './support/pipedrive.ts';

type Value = Record<string, unknown> & { id: number; __source_ts_ms: number };

/**
 * History and change-log records exactly once. A first sync with HISTORY_REBUILD=all rebuilds each deal's
 * past from its changelog; deals keep changing while it runs, so some are read again (a later version,
 * still a snapshot read) after their history was published. Neither that nor a producer killed and
 * restarted mid-sync may publish a version, or a field change, twice; and every version the local
 * Pipedrive recorded is there.
 */
describe('history exactly once', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  /** A local Pipedrive with `n` deals made through its API, half of them changed twice in later seconds. */
  async function account(n: number): Promise<{ sim: Simulator; ids: number[] }> {
    const s = await startSimulator({ seed: 5, clock: new SimClock({ start: new Date('2026-09-28T09:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(Number((await api(s.baseUrl, s.token, 'POST', '/api/v2/deals', { title: `deal ${i}`, value: i })).id));
      if (i % 50 === 49) s.clock.advance(1000);
    }
    for (const round of [1, 2]) {
      s.clock.advance(1000);
      for (const id of ids.filter((_, i) => i % 2 === 0)) await api(s.baseUrl, s.token, 'PATCH', `/api/v2/deals/${id}`, { title: `deal ${id} v${round}` });
    }
    s.clock.advance(1000);
    return { sim: s, ids };
  }

  /** Changes deals while the producer syncs: each tick moves the clock one second and changes a few deals. */
  function keepChanging(s: Simulator, ids: readonly number[]): { stop(): Promise<number> } {
    let running = true;
    let changes = 0;
    const loop = (async () => {
      for (let tick = 0; running; tick++) {
        s.clock.advance(1000);
        for (let k = 0; k < 4; k++) {
          const id = ids[(tick * 37 + k * 101) % ids.length]!;
          await api(s.baseUrl, s.token, 'PATCH', `/api/v2/deals/${id}`, { title: `deal ${id} t${tick}.${k}` });
          changes++;
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    loop.catch(() => undefined); // reported by stop(); a test that failed earlier does not wait for it
    return {
      async stop() {
        running = false;
        await loop;
        return changes;
      },
    };
  }

  it('a first sync while deals change: no version or field change twice, every recorded version present', { timeout: 240_000 }, async () => {
    const { sim: s, ids } = await account(1200);
    sim = s;
    const prefix = uniqueName('hist');
    const env = pipelineEnv(s, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'all', TOPIC_PARTITIONS: '2', METRICS_PORT: '0' });
    const changer = keepChanging(s, ids);
    const first = runCli(['run', '--once'], env);
    await first.waitForLine((l) => l.event === 'batch-committed', 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await changer.stop()).toBeGreaterThan(20);
    expect(await first.exit, first.lines.slice(-20).join('\n')).toBe(0);
    // The changes made after that run's last pass, then a second run: the incremental side rebuilds too.
    const second = runCli(['run', '--once'], env);
    expect(await second.exit, second.lines.slice(-20).join('\n')).toBe(0);
    await checkHistoryTopics(prefix, s, ids);
  });

  it('killed mid-sync (after a commit, inside a transaction) and restarted while deals change: still exactly once', { timeout: 240_000 }, async () => {
    const { sim: s, ids } = await account(1200);
    sim = s;
    const prefix = uniqueName('histkill');
    const env = (failpoint: string) => pipelineEnv(s, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'all', TOPIC_PARTITIONS: '2', METRICS_PORT: '0', PIPEDRIVE_CDC_FAILPOINT: failpoint });
    const changer = keepChanging(s, ids);
    for (const failpoint of ['publish.after-commit:2', 'publish.before-commit:2', 'publish.after-commit:1']) {
      const killed = runCli(['run', '--once'], env(failpoint));
      expect(await killed.exit, `${failpoint}: ${killed.lines.slice(-10).join('\n')}`).toBe('SIGKILL');
    }
    await changer.stop();
    const clean = runCli(['run', '--once'], env(''));
    expect(await clean.exit, clean.lines.slice(-20).join('\n')).toBe(0);
    await checkHistoryTopics(prefix, s, ids);
  });
});

/** The history and change-log topics, read with read_committed by a plain consumer, against the local Pipedrive's journal. */
async function checkHistoryTopics(prefix: string, sim: Simulator, ids: readonly number[]): Promise<void> {
  const history = (await readTopic(`${prefix}.deal_history`)).filter((r) => r.value !== null);
  expect(history.length).toBeGreaterThan(ids.length);
  expectNoRepeats(history, (v) => `${v.id}@${v.__source_ts_ms}`, 'deal_history');
  const changes = (await readTopic(`${prefix}.deal_change`)).filter((r) => r.value !== null);
  expect(changes.length).toBeGreaterThan(ids.length);
  expectNoRepeats(changes, (v) => `${v.deal_id}@${v.time}:${v.field_key}`, 'deal_change');

  // Every second in which a deal was created or changed is one version, with the title it had then.
  const byDeal = new Map<number, Map<number, string>>();
  for (const r of history) {
    const v = r.value as Value;
    let versions = byDeal.get(v.id);
    if (!versions) byDeal.set(v.id, (versions = new Map()));
    versions.set(v.__source_ts_ms, String(v.title)); // partition order: a same-second later version wins
  }
  for (const id of ids) {
    const expected = new Map<number, string>();
    let title: unknown = null;
    for (const e of sim.store.journal.of('deal', id)) {
      for (const c of e.changes) if (c.field === 'title') title = c.newValue;
      expected.set(Math.floor(e.timeMs / 1000) * 1000, String(title));
    }
    expect(byDeal.get(id), `deal ${id} versions`).toEqual(expected);
  }
}

/** No two records carry the same version (identity) with the same content (capture time and op aside). */
function expectNoRepeats(records: readonly ConsumedRecord[], identity: (v: Value) => string, topic: string): void {
  const seen = new Map<string, string>();
  const repeated: string[] = [];
  for (const r of records) {
    const { __synced_ms: _synced, __op: _op, ...content } = r.value as Value;
    const id = identity(r.value as Value);
    const text = JSON.stringify(content);
    if (seen.get(id) === text) repeated.push(id);
    seen.set(id, text);
  }
  expect(repeated.slice(0, 10), `${topic}: ${repeated.length} repeated versions`).toEqual([]);
}
