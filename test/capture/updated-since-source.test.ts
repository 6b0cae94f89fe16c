import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import { deal } from '../../src/catalog/tables/deal.ts';
import type { EmitContext } from '../../src/capture/emit.ts';
import type { ChangeBatch } from '../../src/capture/change.ts';
import { initialOffset, type TableOffset } from '../../src/capture/offset.ts';
import { UpdatedSinceSource } from '../../src/capture/updated-since-source.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { PipedriveDataError } from '../../src/pipedrive/errors.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { drainUpdatedSince } from './support/drain.ts';

/** The incremental source against the local Pipedrive (in-process, no other services). */
const ctx: EmitContext = { spec: deal, tableOf: tableByName, indexes: new Map() };

describe('UpdatedSinceSource', () => {
  let sim: Simulator;
  let client: PipedriveClient;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 3, clock: new SimClock({ start: new Date('2026-03-01T12:00:00Z'), frozen: true }) });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  const drain = (offset: TableOffset, restartEachBatch = false) => drainUpdatedSince(ctx, client, offset, { restartEachBatch });


  it('walks 1,200 rows sharing one update second across pages and restarts: each exactly once', async () => {
    const sec = sim.clock.nowSeconds();
    for (let i = 0; i < 1200; i++) sim.store.deals.insertAt(sec - 10, sec, { title: `d${i}` });
    const { batches, offset } = await drain(initialOffset, true);
    // Priority-first: all rows are recent, so the backfill below the 30-day split finds nothing (an empty batch records that).
    expect(batches.map((b) => b.events.length)).toEqual([500, 500, 200, 0]);
    const ids = batches.flatMap((b) => b.events.map((e) => e.key.id));
    expect(new Set(ids).size).toBe(1200);
    expect(offset.cursorMs).toBe(sec * 1000);
    expect(Object.keys(offset.emittedAtCursor)).toHaveLength(1200);
    expect(offset.snapshotDone).toBe(true);
    expect(batches.flatMap((b) => b.events).every((e) => e.op === 'r')).toBe(true);
    // Nothing new: polling again publishes nothing.
    expect((await drain(offset)).batches).toHaveLength(0);
  });

  it('emits a second update within the same second, and classifies c/u/d after the snapshot', async () => {
    const sec = sim.clock.nowSeconds();
    sim.store.deals.insertAt(sec - 100, sec - 50, { title: 'old' });
    let { offset } = await drain(initialOffset);

    const created = sim.store.deals.create({ title: 'new' });
    ({ offset } = await drain(offset).then((r) => {
      expect(r.batches.flatMap((b) => b.events).map((e) => [e.key.id, e.op])).toEqual([[created.id, 'c']]);
      return r;
    }));
    sim.store.deals.update(created.id, { title: 'same second' }); // still the creation second
    let r = await drain(offset);
    expect(r.batches.flatMap((b) => b.events).map((e) => [e.row.title, e.op])).toEqual([['same second', 'u']]);
    offset = r.offset;

    sim.clock.advance(1000);
    sim.store.deals.delete(1);
    r = await drain(offset);
    const ev = r.batches.flatMap((b) => b.events);
    expect(ev.map((e) => [e.key.id, e.op, e.row.is_deleted])).toEqual([[1, 'd', true]]);
    expect((await drain(r.offset)).batches).toHaveLength(0);
  });

  it('a late row (stamped before it became visible) inside the lateness window is published once; outside it, not', async () => {
    const late: EmitContext = { ...ctx, latenessMs: 60_000 };
    const drainWith = async (c: EmitContext, offset: TableOffset) => {
      const out: ChangeBatch[] = [];
      const source = new UpdatedSinceSource(c, client, offset);
      for (let b = await source.poll(); b; b = await source.poll()) {
        out.push(b);
        source.committed(b);
        offset = b.offset;
      }
      return { events: out.flatMap((b) => b.events), offset };
    };
    const sec = sim.clock.nowSeconds();
    sim.store.deals.insertAt(sec - 100, sec - 100, { title: 'first' });
    let { offset } = await drainWith(late, initialOffset);
    sim.clock.advance(30_000);
    sim.store.deals.create({ title: 'moves the cursor' });
    ({ offset } = await drainWith(late, offset));
    expect(offset.cursorMs).toBe((sec + 30) * 1000);
    // Two rows appear now with update times before the cursor: 20 s (inside the window) and 90 s (outside).
    const inside = sim.store.deals.insertAt(sec + 10, sec + 10, { title: 'late, inside' });
    sim.store.deals.insertAt(sec - 60, sec - 60, { title: 'late, outside' });
    // Without a window, both are missed.
    expect((await drainWith(ctx, offset)).events).toEqual([]);
    let r = await drainWith(late, offset);
    expect(r.events.map((e) => [e.key.id, e.row.title, e.op])).toEqual([[inside.id, 'late, inside', 'c']]);
    // Read again: nothing is published twice, while the window still covers it and after it has passed.
    expect((await drainWith(late, r.offset)).events).toEqual([]);
    sim.clock.advance(120_000);
    sim.store.deals.create({ title: 'moves the cursor past the window' });
    r = await drainWith(late, r.offset);
    expect(r.events.map((e) => e.row.title)).toEqual(['moves the cursor past the window']);
    expect(Object.keys(r.offset.withinWindow ?? {})).toEqual([String(r.events[0]!.key.id)]);
  });

  it('a malformed page throws before any event or offset leaves the source', async () => {
    sim.store.deals.insertAt(sim.clock.nowSeconds(), sim.clock.nowSeconds(), { title: 'x' });
    sim.interceptors.push((_req, res) => {
      res.status(200).json({ success: true, data: [{ id: 'not-a-number', title: 1, update_time: 'yesterday' }], additional_data: { next_cursor: null } });
    });
    const source = new UpdatedSinceSource(ctx, client, initialOffset);
    await expect(source.poll()).rejects.toBeInstanceOf(PipedriveDataError);
    await expect(source.poll()).rejects.toThrow(/field "id": expected an integer/);
  });
});

describe('UpdatedSinceSource priority-first', () => {
  let sim: Simulator;
  let client: PipedriveClient;
  const DAY = 86_400_000;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 4, clock: new SimClock({ start: new Date('2026-06-01T00:00:00Z'), frozen: true }) });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('reads the last 30 days first, then backfills older rows; restarts resume both halves without gaps', async () => {
    const now = sim.clock.nowSeconds();
    for (let i = 0; i < 1500; i++) {
      const updated = now - Math.floor(((i * 7919) % 120) * 86_400) - (i % 3600);
      sim.store.deals.insertAt(updated - 86_400, updated, { title: `d${i}` });
    }
    const split = (now * 1000 - 30 * DAY) / 1000;
    // The last-inserted old deal: the backfill reads it last, so it is still unread when it gets updated.
    const oldId = sim.store.deals.table.all().filter((r) => Date.parse(r.data.update_time) / 1000 < split).at(-1)!.id;
    let offset: TableOffset = initialOffset;
    const seen: Array<{ id: number; ts: number }> = [];
    let movedUp = false;
    for (let round = 0; round < 100; round++) {
      const source = new UpdatedSinceSource(ctx, client, offset); // a restart before every batch
      const batch = await source.poll();
      if (!batch) break;
      for (const e of batch.events) seen.push({ id: Number(e.key.id), ts: e.sourceTsMs / 1000 });
      offset = batch.offset;
      // While the backfill runs, an old deal is updated: it moves above the split and must still be read.
      if (!movedUp && offset.backfill?.cursorMs != null) {
        sim.clock.advance(1000);
        sim.store.deals.update(oldId, { title: 'moved up' });
        movedUp = true;
      }
    }
    expect(movedUp).toBe(true);
    expect(offset.backfill).toBeUndefined();
    expect(offset.snapshotDone).toBe(true);
    expect(new Set(seen.map((s) => s.id)).size).toBe(1500);
    // Every recent row was published before the first old one.
    const firstOld = seen.findIndex((s) => s.ts < split);
    const lastRecentOfSnapshot = seen.map((s, i) => (s.ts >= split && s.id !== oldId ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
    expect(firstOld).toBeGreaterThan(lastRecentOfSnapshot);
    expect(seen.filter((s) => s.id === oldId).map((s) => s.ts > split)).toEqual([true]);
  });
});
