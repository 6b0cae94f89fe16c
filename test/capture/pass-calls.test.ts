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
    const plain = (t: TableSpec): TableSpec => ({ ...t, customFields: undefined });
    const indexes = new Map<string, KeyIndex>();
    for (const n of names) for (const t of [n, ...(tableByName(n).children ?? []).map((c) => c.table)]) indexes.set(t, new KeyIndex(tableByName(t)));
    // The Recents gate would skip a quiet list; off here, so each source is measured on its own.
    const sources: TableSource[] = names.map((n) => {
      const ctx: EmitContext = { spec: plain(tableByName(n)), tableOf: (x) => plain(tableByName(x)), indexes };
      return sourceFor(ctx, client, initialOffset, { historyRebuild: 'off', recentsGate: false });
    });
    const pass = async (s: TableSource): Promise<ChangeEvent[]> => {
      const events: ChangeEvent[] = [];
      for (let b = await s.poll(); b; b = await s.poll()) {
        for (const ev of b.events) indexes.get(ev.table)?.apply(ev);
        s.committed(b);
        events.push(...b.events);
      }
      return events;
    };
    const ops = () => structuredClone(sim.rateLimit.stats().byOperation);
    const delta = (before: Record<string, { requests: number }>) =>
      Object.fromEntries(Object.entries(ops()).map(([op, s]) => [op, s.requests - (before[op]?.requests ?? 0)]).filter(([, n]) => n !== 0));

    // First sync (priority-first backfills need a few passes), then quiet.
    for (let i = 0; i < 5; i++) {
      sim.clock.advance(30_000);
      for (const s of sources) await pass(s);
    }

    const api = (method: string, path: string, body: unknown) =>
      fetch(`${sim.baseUrl}${path}`, { method, headers: { 'x-api-token': sim.token, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const first = async (path: string) => ((await (await api('GET', path, undefined)).json()) as { data: Array<{ id: number }> }).data[0]!;
    const [deal, stage, note] = [await first('/api/v2/deals?limit=1'), await first('/api/v2/stages?limit=1'), await first('/v1/notes?limit=1')];
    sim.clock.advance(30_000);
    expect((await api('PATCH', `/api/v2/deals/${deal.id}`, { title: 'one change' })).status).toBe(200);
    expect((await api('PATCH', `/api/v2/stages/${stage.id}`, { name: 'one change' })).status).toBe(200);
    expect((await api('PUT', `/v1/notes/${note.id}`, { content: 'one change' })).status).toBe(200);
    sim.clock.advance(1_000);

    for (const [i, s] of sources.entries()) {
      const before = ops();
      const events = await pass(s);
      expect(events.filter((e) => e.table === names[i]).map((e) => Number(e.key.id)), names[i]).toEqual([[deal.id, stage.id, note.id][i]]);
      expect(delta(before), names[i]).toEqual({ [['getDeals', 'getStages', 'getRecents'][i]!]: 1 });
    }
  });
});
