import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import { lead } from '../../src/catalog/tables/lead.ts';
import type { TableSpec } from '../../src/catalog/types.ts';
import type { ChangeBatch } from '../../src/capture/change.ts';
import type { EmitContext } from '../../src/capture/emit.ts';
import { initialOffset, type TableOffset } from '../../src/capture/offset.ts';
import { reanchored } from '../../src/capture/updated-since-source.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { drainUpdatedSince } from './support/drain.ts';

/** Leads as an updated-since table: v1 offset pages, `sort=update_time ASC`, ISO `updated_since` (≥). */
const spec: TableSpec = { ...lead, customFields: undefined };
const ctx: EmitContext = { spec, tableOf: tableByName, indexes: new Map() };
const sync = lead.sync as Extract<TableSpec['sync'], { kind: 'updated-since' }>;

describe('lead through UpdatedSinceSource', () => {
  let sim: Simulator;
  let client: PipedriveClient;
  /** The calls the source made (endpoint and query), in order. */
  let calls: string[];

  beforeEach(async () => {
    sim = await startSimulator({ seed: 5, deals: 20, clock: new SimClock({ start: new Date('2026-03-01T12:00:00Z'), frozen: true }) });
    calls = [];
    sim.interceptors.push((req, _res, next) => {
      if (req.path.endsWith('/leads')) calls.push(req.originalUrl);
      next();
    });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  const drain = (offset: TableOffset, between?: (n: number) => void, restartEachBatch = false) => drainUpdatedSince(ctx, client, offset, { between, restartEachBatch });

  const live = () => sim.store.v1.leads.rows.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived);
  const person = () => sim.store.persons.all()[0]!.id;
  const leadEvents = (bs: ChangeBatch[]) => bs.flatMap((b) => b.events.filter((e) => e.table === 'lead'));

  it('reads every live lead once, then only what changed, sorted by update time ascending from the cursor (inclusive)', async () => {
    let { batches, offset } = await drain(initialOffset);
    expect(new Set(leadEvents(batches).map((e) => e.key.id))).toEqual(new Set(live().map((r) => r.data.uuid)));
    const query = (url: string) => new URLSearchParams(url.split('?')[1]);
    expect(query(calls[0]!).get('sort')).toBe('update_time ASC');
    // Quiet: one call from the cursor second, nothing published.
    calls = [];
    ({ batches } = await drain(offset));
    expect(batches).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(query(calls[0]!).get('updated_since')).toBe(new Date(offset.cursorMs!).toISOString().replace('.000', ''));

    sim.clock.advance(2000);
    const made = sim.store.v1.leads.create(1, { title: 'new lead', person_id: person() });
    const changed = live()[0]!;
    sim.store.v1.leads.update(1, changed.data.uuid, { title: 'changed' });
    ({ batches, offset } = await drain(offset));
    expect(leadEvents(batches).map((e) => [e.key.id, e.op, e.row.title]).sort()).toEqual([
      [changed.data.uuid, 'u', 'changed'],
      [made.data.uuid, 'c', 'new lead'],
    ].sort());
    // Changed again within the same second: the second version arrives, the first is not read again.
    sim.store.v1.leads.update(1, made.data.uuid, { title: 'same second' });
    ({ batches, offset } = await drain(offset));
    expect(leadEvents(batches).map((e) => [e.key.id, e.op, e.row.title])).toEqual([[made.data.uuid, 'u', 'same second']]);
    expect((await drain(offset)).batches).toEqual([]);
  });

  it('1,200 leads updated in one second cross pages (and restarts) each exactly once; the next pass reads none', async () => {
    let { offset } = await drain(initialOffset);
    sim.clock.advance(5000);
    for (let i = 0; i < 1200; i++) sim.store.v1.leads.create(1, { title: `bulk ${i}`, person_id: person() });
    const r = await drain(offset, undefined, true);
    const ids = leadEvents(r.batches).map((e) => e.key.id);
    expect(ids).toHaveLength(1200);
    expect(new Set(ids).size).toBe(1200);
    offset = r.offset;
    calls = [];
    expect((await drain(offset)).batches).toEqual([]);
    // The quiet pass pages through the cursor second (3 pages of it), no further.
    expect(calls).toHaveLength(3);
  });

  it('a lead updated between pages of a pass neither hides an unread lead nor is lost', async () => {
    let { offset } = await drain(initialOffset);
    const base = live().length;
    for (let i = 0; i < 1100; i++) {
      sim.clock.advance(1000);
      sim.store.v1.leads.create(1, { title: `t${i}`, person_id: person() });
    }
    const first = live().find((r) => r.data.title === 't0')!;
    const r = await drain(offset, (n) => {
      if (n === 1) {
        sim.clock.advance(1000);
        sim.store.v1.leads.update(1, first.data.uuid, { title: 'moved to the end' });
      }
    });
    const seen = new Map(leadEvents(r.batches).map((e) => [e.key.id, e.row.title]));
    const after = await drain(r.offset);
    for (const e of leadEvents(after.batches)) seen.set(e.key.id, e.row.title);
    expect(seen.size).toBe(1100);
    expect(seen.get(first.data.uuid)).toBe('moved to the end');
    expect(live().length - base).toBe(1100);
    offset = after.offset;
    expect((await drain(offset)).batches).toEqual([]);
  });

  it('re-anchors an offset page at its last row second; a page all within one second goes on by offset', () => {
    const row = (sec: string) => ({ id: 'a', title: 't', add_time: sec, update_time: sec });
    const q = { sort: 'update_time ASC', updated_since: '2026-03-01T12:00:00Z' };
    expect(reanchored(sync, spec, q, null, [row('2026-03-01T12:00:00.000Z'), row('2026-03-01T12:00:07.000Z')])).toEqual({
      query: { ...q, updated_since: '2026-03-01T12:00:07Z' },
      position: { start: 0 },
    });
    const same = [row('2026-03-01T12:00:00.000Z'), row('2026-03-01T12:00:00.000Z')];
    expect(reanchored(sync, spec, q, { start: 500 }, same)).toEqual({ query: q, position: { start: 502 } });
  });
});
