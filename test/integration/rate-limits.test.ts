import { describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, uniqueName } from './support/harness.ts';

/**
 * The governor under Pipedrive's limits, as the local Pipedrive enforces them: a small burst window, a 503
 * and a dropped connection injected, and a daily token budget that runs out mid-sync (429s until midnight). The sync pauses (no request storm),
 * resumes when the simulated day turns, and ends with every deal published; the simulator's own counters
 * show no burst window was ever exceeded.
 */
describe('rate limits and the daily budget', () => {
  it('pauses on an exhausted budget, resumes after midnight, never exceeds the burst window', { timeout: 240_000 }, async () => {
    const burst = 8;
    const sim = await startSimulator({
      seed: 21,
      deals: 1_400,
      rateLimit: { burst, dailyBudget: 105 },
      faults: [
        { kind: 'status', status: 503, operation: 'getDeals', nth: 2 },
        { kind: 'drop', operation: 'getPersons', nth: 1 },
      ],
    });
    const prefix = uniqueName('rl');
    const events: string[] = [];
    const metrics = createMetrics('producer');
    const produced = async (table: string) => (await metrics.recordsProduced.get()).values.filter((v) => v.labels.table === table).reduce((n, v) => n + v.value, 0);
    const want = { deal: sim.store.deals.table.size, person: sim.store.persons.table.size, organization: sim.store.organizations.table.size };
    const run = startProducer(
      loadProducerConfig(
        pipelineEnv(sim, prefix, {
          TABLES: 'deal,person,organization',
          HISTORY_REBUILD: 'off',
          POLL_INTERVAL_MS: '200',
          DAILY_BUDGET_PROBE_MS: '300',
        }),
      ),
      { metrics, log: (e, f) => { events.push(e); if (process.env.RL_DEBUG) console.log(Date.now() % 100000, e, JSON.stringify(f)); } },
    );
    const complete = async () => (await produced('deal')) >= want.deal && (await produced('person')) >= want.person && (await produced('organization')) >= want.organization;
    let daysTurned = 0;
    let dailyRefusals = 0;
    let burstRefusals = 0;
    const deadline = Date.now() + 150_000;
    try {
      while (!(await complete()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        const stats = sim.rateLimit.stats();
        if (process.env.RL_DEBUG) console.log('stats', stats.dailyRemaining, stats.requests, JSON.stringify(stats.rejected429), sim.clock.now().toISOString());
        if (stats.dailyRemaining < 10 && events.includes('daily-budget-exhausted')) {
          // The producer waits for the day to turn: turn it (the sim clock's next midnight).
          dailyRefusals += stats.rejected429.daily; // the counters are per day
          burstRefusals += stats.rejected429.burst;
          const now = sim.clock.nowMs();
          sim.clock.set(new Date(Math.floor(now / 86_400_000 + 1) * 86_400_000 + 1_000));
          daysTurned++;
          events.length = 0;
        }
      }
    } finally {
      await run.stop();
    }
    const stats = sim.rateLimit.stats();
    expect(daysTurned, 'the budget ran out at least once').toBeGreaterThan(0);
    expect(dailyRefusals, 'calls refused for the daily budget').toBeGreaterThan(0);
    expect(sim.faults.stats().injected, 'injected faults').toMatchObject({ status: 1, drop: 1 });
    // The simulator refuses (429) any request beyond the burst window: the governor never caused one.
    expect(burstRefusals + stats.rejected429.burst, 'requests refused for the burst window').toBe(0);
    expect(stats.peakRequestsPerWindow, 'requests in any 2-second window').toBeLessThanOrEqual(burst);

    // Completed correctly: every deal and person of the source is in its topic, once in the snapshot.
    const deals = (await readTopic(`${prefix}.deal`)).filter((r) => r.value !== null);
    expect(new Set(deals.map((r) => (r.key as { id: number }).id)).size).toBe(want.deal);
    const persons = (await readTopic(`${prefix}.person`)).filter((r) => r.value !== null);
    expect(new Set(persons.map((r) => (r.key as { id: number }).id)).size).toBe(want.person);
    const orgs = (await readTopic(`${prefix}.organization`)).filter((r) => r.value !== null);
    expect(new Set(orgs.map((r) => (r.key as { id: number }).id)).size).toBe(want.organization);
    await sim.close();
  });
});

describe('the burst window', () => {
  it('a request-heavy sync (a changelog call per deal) never gets a burst 429', { timeout: 120_000 }, async () => {
    // Unpaced, this sync makes about 10 requests a second: twice what a window of 10 per 2 seconds allows.
    const burst = 10;
    const sim = await startSimulator({ seed: 22, deals: 120, rateLimit: { burst, dailyBudget: 10_000_000 } });
    const prefix = uniqueName('burst');
    const t0 = Date.now();
    const run = startProducer(
      loadProducerConfig(
        pipelineEnv(sim, prefix, {
          TABLES: 'deal',
          HISTORY_REBUILD: 'all',
        }),
      ),
      { metrics: createMetrics('producer'), log: () => undefined, untilCaughtUp: true },
    );
    await run.done;
    const stats = sim.rateLimit.stats();
    await sim.close();
    expect(stats.byOperation.getDealChangelog?.requests ?? 0, 'changelog calls').toBeGreaterThan(100);
    expect(stats.rejected429.burst, 'requests refused for the burst window').toBe(0);
    // Paced, not refused: the requests took at least the windows they needed.
    expect(Date.now() - t0).toBeGreaterThan(((stats.requests / burst) * 2000) * 0.9);
  });
});
