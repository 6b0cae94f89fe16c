import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import type { TableSpec } from '../../src/catalog/types.ts';
import type { ChangeEvent } from '../../src/capture/change.ts';
import type { EmitContext } from '../../src/capture/emit.ts';
import { KeyIndex } from '../../src/capture/key-index.ts';
import { initialOffset } from '../../src/capture/offset.ts';
import { sourceFor } from '../../src/capture/sources.ts';
import type { TableSource } from '../../src/capture/table-source.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';

/** The Recents change check in front of incremental tables, against the local Pipedrive and its cost accounting. */
describe('Recents change check', () => {
  let sim: Simulator;
  let client: PipedriveClient;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 7, deals: 200, clock: new SimClock({ start: new Date('2026-05-01T08:00:00Z'), frozen: true }) });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
    await client.getJson('/v1/users/me', {}, '/v1/users/me');
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('a quiet round costs one Recents call for all tables; a changed table reads its list, the others do not', async () => {
    const names = ['deal', 'person', 'note'];
    const indexes = new Map<string, KeyIndex>();
    const plain = (t: TableSpec): TableSpec => ({ ...t, customFields: undefined });
    for (const n of names) for (const t of [n, ...(tableByName(n).children ?? []).map((c) => c.table)]) indexes.set(t, new KeyIndex(tableByName(t)));
    const sources: TableSource[] = names.map((n) => {
      const ctx: EmitContext = { spec: plain(tableByName(n)), tableOf: (x) => plain(tableByName(x)), indexes };
      return sourceFor(ctx, client, initialOffset, { historyRebuild: 'off' });
    });
    const round = async (): Promise<ChangeEvent[]> => {
      const events: ChangeEvent[] = [];
      for (const s of sources) {
        for (let b = await s.poll(); b; b = await s.poll()) {
          for (const ev of b.events) indexes.get(ev.table)?.apply(ev);
          s.committed(b);
          events.push(...b.events);
        }
      }
      return events;
    };
    const ops = () => structuredClone(sim.rateLimit.stats().byOperation);
    const delta = (before: Record<string, { requests: number }>) =>
      Object.fromEntries(Object.entries(ops()).map(([op, s]) => [op, s.requests - (before[op]?.requests ?? 0)]).filter(([, n]) => n !== 0));

    // First sync, then a round that only finishes what the first left (priority-first backfills).
    for (let i = 0; i < 5 && (await round()).length > 0; i++) sim.clock.advance(30_000);
    sim.clock.advance(30_000);
    await round();

    sim.clock.advance(30_000);
    let before = ops();
    expect(await round()).toEqual([]);
    expect(delta(before), 'one shared Recents call, no list').toEqual({ getRecents: 1 });

    sim.clock.advance(30_000);
    const deal = sim.store.deals.table.all().find((r) => r.deletedAtMs === null && !r.data.is_archived)!;
    sim.store.deals.update(deal.id, { title: 'Changed while quiet' });
    sim.clock.advance(30_000);
    before = ops();
    const events = await round();
    expect(events.filter((e) => e.table === 'deal').map((e) => e.key.id)).toEqual([deal.id]);
    // The deal list is read once: its last page ends the pass (no confirming read of what was just published).
    expect(delta(before), 'the deal list read, persons and notes not').toEqual({ getRecents: 1, getDeals: 1 });
  });
});
