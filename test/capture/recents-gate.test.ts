import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../src/capture/change.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { ChangeHints } from '../../src/capture/recents-gate.ts';
import { drainPass, operationCounter, sourcesOf } from './support/sources.ts';

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
    const { sources, indexes } = sourcesOf(['deal', 'person', 'note'], client);
    const round = async (): Promise<ChangeEvent[]> => {
      const events: ChangeEvent[] = [];
      for (const s of sources) events.push(...(await drainPass(s, indexes)));
      return events;
    };
    const calls = operationCounter(sim);

    // First sync, then a round that only finishes what the first left (priority-first backfills).
    for (let i = 0; i < 5 && (await round()).length > 0; i++) sim.clock.advance(30_000);
    sim.clock.advance(30_000);
    await round();

    sim.clock.advance(30_000);
    calls.mark();
    expect(await round()).toEqual([]);
    expect(calls.since(), 'one shared Recents call, no list').toEqual({ getRecents: 1 });

    sim.clock.advance(30_000);
    const deal = sim.store.deals.table.all().find((r) => r.deletedAtMs === null && !r.data.is_archived)!;
    sim.store.deals.update(deal.id, { title: 'Changed while quiet' });
    sim.clock.advance(30_000);
    calls.mark();
    const events = await round();
    expect(events.filter((e) => e.table === 'deal').map((e) => e.key.id)).toEqual([deal.id]);
    // The deal list is read once: its last page ends the pass (no confirming read of what was just published).
    expect(calls.since(), 'the deal list read, persons and notes not').toEqual({ getRecents: 1, getDeals: 1 });
  });

  it('a pass a webhook asked for reads the list without asking Recents first; the next regular pass asks it again', async () => {
    const hints = new ChangeHints();
    const { sources, indexes } = sourcesOf(['deal'], client, { changeHints: hints });
    const deal = sources[0]!;
    for (let i = 0; i < 5; i++) {
      sim.clock.advance(30_000);
      await drainPass(deal, indexes);
    }
    const calls = operationCounter(sim);
    const changed = sim.store.deals.table.all().find((r) => r.deletedAtMs === null && !r.data.is_archived)!;
    sim.store.deals.update(changed.id, { title: 'Changed, and a webhook said so' });
    sim.clock.advance(1_000);
    hints.mark();
    calls.mark();
    expect((await drainPass(deal, indexes)).filter((e) => e.table === 'deal').map((e) => e.key.id)).toEqual([changed.id]);
    expect(calls.since(), 'hinted: the list only').toEqual({ getDeals: 1 });

    sim.clock.advance(30_000);
    calls.mark();
    expect(await drainPass(deal, indexes)).toEqual([]);
    expect(calls.since().getRecents, 'regular: the Recents check again').toBe(1);
  });
});
