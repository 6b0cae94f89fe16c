import { describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { pipelineEnv, uniqueName } from './support/harness.ts';

/**
 * The API tokens of a full first sync of the 5,000-deal generated account, every table, counted by the
 * local Pipedrive's own cost accounting (the official x-token-cost of each call), stay within the budget
 * measured when the per-deal walks learned to call only deals with something there (bench/RESULTS.md):
 * 33,782 tokens, of which 22,040 participants and followers (11,742 for Fivetran's table set). The per-deal calls are checked against the
 * store: one mail call per live deal with mail (for both mail tables), one participants call per live deal
 * with participants, one followers call per deal with followers.
 */
const BUDGET = 34_000;
const WITHOUT_PEOPLE_BUDGET = 12_000;

describe('token budget', () => {
  it('the 5,000-deal first sync of every table stays within the budget', { timeout: 600_000 }, async () => {
    const sim = await startSimulator({ seed: 3, deals: 5_000, rateLimit: { dailyBudget: 1e12, burst: 100_000 } });
    try {
      const prefix = uniqueName('tokens');
      const run = startProducer(loadProducerConfig(pipelineEnv(sim, prefix, { HISTORY_REBUILD: 'off' })), { metrics: createMetrics('producer'), log: silentLogger, untilCaughtUp: true });
      await run.done;
      const stats = sim.rateLimit.stats();
      const calls = (op: string) => stats.byOperation[op]?.requests ?? 0;
      const tokens = (op: string) => stats.byOperation[op]?.tokens ?? 0;

      const s = sim.store;
      const live = new Set(s.deals.table.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived).map((r) => r.id));
      const dealsWith = (rows: readonly { deletedAtMs: number | null; data: { deal_id: number | null } }[]) =>
        new Set(rows.filter((r) => r.deletedAtMs === null && r.data.deal_id !== null && live.has(r.data.deal_id)).map((r) => r.data.deal_id)).size;
      expect(calls('getDealMailMessages'), 'one mail call per deal with mail, shared by mail_message and mail_thread').toBe(dealsWith(s.v1.mail.messages.all()));
      expect(calls('getDealParticipants')).toBe(dealsWith(s.dealPeople.participants.all()));
      expect(calls('getDealFollowers')).toBe(dealsWith(s.dealPeople.followers.all()));

      expect(stats.tokensSpentTotal).toBeLessThanOrEqual(BUDGET);
      expect(stats.tokensSpentTotal - tokens('getDealParticipants') - tokens('getDealFollowers'), "Fivetran's table set").toBeLessThanOrEqual(WITHOUT_PEOPLE_BUDGET);
    } finally {
      await sim.close();
    }
  });
});
