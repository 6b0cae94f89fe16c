import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { api } from '../integration/support/pipedrive.ts';
import { drainPass, operationCounter, sourcesOf } from './support/sources.ts';

/**
 * What a pass that finds one change costs, per kind of incremental source, counted by the local Pipedrive:
 * the page holding the change is the last page, so it ends the pass — no second read that would only find
 * the row just published again (before, every pass with a change cost two list calls).
 */
describe('an incremental pass with one change', () => {
  let sim: Simulator;
  let client: PipedriveClient;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 5, deals: 50, clock: new SimClock({ start: new Date('2026-05-01T08:00:00Z'), frozen: true }) });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
    await client.getJson('/v1/users/me', {}, '/v1/users/me');
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('reads its list once: updated_since (deal), newest first (stage), Recents (note)', async () => {
    const names = ['deal', 'stage', 'note'];
    // Without the Recents gate (which would skip a quiet list): each source is measured on its own.
    const { sources, indexes } = sourcesOf(names, client, { recentsGate: false });
    // First sync (priority-first backfills need a few passes), then quiet.
    for (let i = 0; i < 5; i++) {
      sim.clock.advance(30_000);
      for (const s of sources) await drainPass(s, indexes);
    }

    const call = (method: string, path: string, body?: unknown) => api(sim.baseUrl, sim.token, method, path, body);
    const first = async (path: string) => ((await call('GET', path)) as unknown as Array<{ id: number }>)[0]!;
    const [deal, stage, note] = [await first('/api/v2/deals?limit=1'), await first('/api/v2/stages?limit=1'), await first('/v1/notes?limit=1')];
    sim.clock.advance(30_000);
    await call('PATCH', `/api/v2/deals/${deal.id}`, { title: 'one change' });
    await call('PATCH', `/api/v2/stages/${stage.id}`, { name: 'one change' });
    await call('PUT', `/v1/notes/${note.id}`, { content: 'one change' });
    sim.clock.advance(1_000);

    const calls = operationCounter(sim);
    for (const [i, s] of sources.entries()) {
      calls.mark();
      const events = await drainPass(s, indexes);
      expect(events.filter((e) => e.table === names[i]).map((e) => Number(e.key.id)), names[i]).toEqual([[deal.id, stage.id, note.id][i]]);
      expect(calls.since(), names[i]).toEqual({ [['getDeals', 'getStages', 'getRecents'][i]!]: 1 });
    }
  });
});
