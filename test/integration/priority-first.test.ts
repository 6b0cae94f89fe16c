import { describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, uniqueName } from './support/harness.ts';

const DAY = 86_400_000;

/**
 * Priority-first on a large account: a first sync of 100,000 deals publishes every deal updated in the last
 * 30 days before any older one, so a sink (which applies each partition in offset order) holds the recent
 * month before the backfill of older deals finishes. A test on ordering, not on time.
 */
describe('priority-first sync', () => {
  it('publishes the last 30 days of 100,000 deals before the older ones', { timeout: 300_000 }, async () => {
    const sim = await startSimulator({ seed: 31, deals: 100_000, clock: new SimClock({ start: new Date('2026-09-01T12:00:00Z') }), rateLimit: { dailyBudget: 1e12, burst: 100_000 } });
    const prefix = uniqueName('prio');
    // The producer places its split at (the API's) now − 30 days when it starts: somewhere in this range.
    const splitNoEarlierThan = sim.clock.nowMs() - 30 * DAY - 1000;
    try {
      const run = startProducer(
        loadProducerConfig(pipelineEnv(sim, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'off' })),
        { metrics: createMetrics('producer'), log: silentLogger, untilCaughtUp: true },
      );
      await run.done;
      const splitNoLaterThan = sim.clock.nowMs() - 30 * DAY + 1000;
      const records = (await readTopic(`${prefix}.deal`)).filter((r) => r.value !== null);
      const ts = (r: (typeof records)[number]) => (r.value as { __source_ts_ms: number }).__source_ts_ms;
      expect(new Set(records.map((r) => (r.key as { id: number }).id)).size).toBe(sim.store.deals.table.size);
      const isRecent = (r: (typeof records)[number]) => ts(r) >= splitNoLaterThan;
      const isOld = (r: (typeof records)[number]) => ts(r) < splitNoEarlierThan;
      const recent = records.filter(isRecent).length;
      const old = records.filter(isOld).length;
      expect(recent, 'deals of the last 30 days').toBeGreaterThan(10_000);
      expect(old, 'older deals').toBeGreaterThan(10_000);
      // In every partition (the order a sink applies), no old deal comes before the last recent one of the snapshot.
      for (const p of new Set(records.map((r) => r.partition))) {
        const inPartition = records.filter((r) => r.partition === p).sort((a, b) => Number(a.offset - b.offset));
        const firstOld = inPartition.findIndex(isOld);
        const lastRecent = inPartition.map((r, i) => (isRecent(r) ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
        expect(firstOld, `partition ${p}: first old deal after the last recent one`).toBeGreaterThan(lastRecent);
      }
    } finally {
      await sim.close();
    }
  });
});
