import { describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { pipelineEnv, uniqueName, until } from './support/harness.ts';

/**
 * The token budget share wired through the producer: the local Pipedrive reports a Lite plan's daily
 * budget (30,000 tokens, one seat), the default share is 10 % of it, and the producer — polling every
 * 100 ms otherwise, the share given explicitly — stretches its rounds and says so in its metrics. Oracle: the simulator's own token
 * count and budget.
 */
describe('token budget share', () => {
  it('paces steady-state rounds by 10 % of the budget the API reports, and exposes the interval and the spend', { timeout: 120_000 }, async () => {
    const sim = await startSimulator({ seed: 8, deals: 30 });
    const metrics = createMetrics('producer');
    const env = pipelineEnv(sim, uniqueName('pacing'), { TABLES: 'deal', HISTORY_REBUILD: 'off', POLL_INTERVAL_MS: '100', METRICS_PORT: '0' });
    // The default share (auto's while POLL_INTERVAL_MS is unset; set here for quick rounds, so the share is given too).
    env.TOKEN_BUDGET_SHARE = '0.1';
    const run = startProducer(loadProducerConfig(env), { metrics, log: silentLogger });
    const gauge = async (m: { get(): Promise<{ values: Array<{ value: number }> }> }) => (await m.get()).values[0]?.value ?? 0;
    try {
      await until('a paced interval', async () => (await gauge(metrics.pollIntervalEffective)) > 60, 60_000, 100);
      const budget = 30_000; // Lite, one seat: what the local Pipedrive sends in x-daily-ratelimit-token-limit
      expect(await gauge(metrics.tokenShareDaily)).toBe(budget * 0.1);
      const spentSteady = await gauge(metrics.incrementalTokensWindow);
      expect(spentSteady).toBeGreaterThan(0);
      // The first sync is not charged: the window holds less than everything the API counted.
      expect(spentSteady).toBeLessThan(sim.rateLimit.stats().tokensSpentTotal);
      // Pro rata in the first day: the next round when the spend so far and one more round fit 95 % of 3,000 a day.
      const interval = await gauge(metrics.pollIntervalEffective);
      expect(interval).toBeGreaterThan(100 / 1000);
      expect(interval).toBeLessThanOrEqual(3600);
      // And it does wait: no round within the next second spends anything.
      const before = sim.rateLimit.stats().tokensSpentTotal;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(sim.rateLimit.stats().tokensSpentTotal).toBe(before);
      const scrape = await metrics.registry.metrics();
      expect(scrape).toContain('pipedrive_cdc_poll_interval_effective_seconds');
      expect(scrape).not.toContain(sim.token);
    } finally {
      await run.stop();
      await sim.close();
    }
  });
});
