import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, T0_SEC, walkDeals, type Client, type ErrorBody, type ListBody } from './helpers.ts';

const iso = (sec: number): string => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

let sim: Simulator;
let api: Client;

afterEach(async () => {
  await sim.close();
});

describe('GET /api/v2/deals pagination', () => {
  beforeEach(async () => {
    sim = await startFrozen({ deals: 0 });
    api = client(sim);
  });

  it('walks every deal exactly once in (sort value, id) order across ties, every sort and direction', async () => {
    // Three update seconds with 5, 1 and 4 deals each; add times shuffled against ids.
    const plan = [5, 1, 4];
    let n = 0;
    plan.forEach((count, second) => {
      for (let k = 0; k < count; k++) {
        const addSec = T0_SEC - 100 + ((n * 7) % 5); // ties on add_time too
        sim.store.deals.insertAt(addSec, T0_SEC + second, { title: `deal ${n}` });
        n += 1;
      }
    });
    const all = [...sim.store.deals.table.all()];
    for (const sortBy of ['id', 'update_time', 'add_time'] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const key = (r: (typeof all)[number]) => (sortBy === 'id' ? r.id : sortBy === 'add_time' ? r.addSec : r.updateSec);
        const expected = [...all].sort((a, b) => key(a) - key(b) || a.id - b.id).map((r) => r.id);
        if (dir === 'desc') expected.reverse();
        for (const limit of [1, 2, 3, 7, 500]) {
          const { ids } = await walkDeals(api, { sort_by: sortBy, sort_direction: dir, limit });
          expect(ids, `${sortBy} ${dir} limit ${limit}`).toEqual(expected);
        }
      }
    }
  });

  it('stays correct when rows are updated and deleted between page requests', async () => {
    for (let i = 0; i < 20; i++) sim.store.deals.insertAt(T0_SEC - 3600, T0_SEC - 60 + (i % 4), { title: `d${i}` });
    const touched = new Set<number>();
    const deleted = new Set<number>();
    const { ids } = await walkDeals(api, { sort_by: 'update_time', limit: 2 }, async (page, rows) => {
      if (page > 8) return;
      // Each gap: another second passes; update one deal not yet seen and one already seen,
      // and on odd pages delete one not yet seen.
      sim.clock.advance(1000);
      const seen = new Set(rows.map((d) => d.id));
      const unseen = [...Array(20).keys()].map((i) => i + 1).filter((id) => !seen.has(id) && !deleted.has(id));
      const seenOne = rows[page % rows.length]!.id;
      for (const id of [unseen[0], seenOne]) {
        if (id === undefined) continue;
        expect((await api.patch(`/api/v2/deals/${id}`, { value: page })).status).toBe(200);
        touched.add(id);
      }
      const victim = unseen[unseen.length - 1];
      if (page % 2 === 1 && victim !== undefined && !touched.has(victim)) {
        expect((await api.del(`/api/v2/deals/${victim}`)).status).toBe(200);
        deleted.add(victim);
      }
    });
    expect(deleted.size).toBeGreaterThan(0);
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (let id = 1; id <= 20; id++) {
      if (deleted.has(id)) continue;
      expect(counts.get(id) ?? 0, `deal ${id}`).toBeGreaterThanOrEqual(1);
      if (!touched.has(id)) expect(counts.get(id), `unchanged deal ${id}`).toBe(1);
    }
    // Updated rows come round again with their new update_time: the walk ends with them.
    const last = ids.slice(-touched.size);
    expect(new Set(last)).toEqual(touched);
  });

  it('does not skip the next page when the row its cursor points at is deleted or updated', async () => {
    for (let i = 0; i < 6; i++) sim.store.deals.insertAt(T0_SEC - 10, T0_SEC - 10, { title: `d${i}` });
    const first = await api.get<ListBody>('/api/v2/deals', { sort_by: 'update_time', limit: 2 });
    expect(first.body.data.map((d) => d.id)).toEqual([1, 2]);
    await api.del('/api/v2/deals/3'); // the first row of the next page
    sim.clock.advance(1000);
    await api.patch('/api/v2/deals/4', { title: 'moved to the end' });
    const { ids } = await walkDeals(api, { sort_by: 'update_time', limit: 2, cursor: first.body.additional_data.next_cursor! });
    expect(ids).toEqual([5, 6, 4]);
  });

  it('returns next_cursor null on the last page and on an empty result', async () => {
    sim.store.deals.create({ title: 'only' });
    const r = await api.get<ListBody>('/api/v2/deals', { limit: 1 });
    expect(r.body.additional_data).toEqual({ next_cursor: null });
    const empty = await api.get<ListBody>('/api/v2/deals', { ids: '99' });
    expect(empty.body).toEqual({ success: true, data: [], additional_data: { next_cursor: null } });
  });

  it('uses base64url JSON cursors naming the first row of the next page, like the real API', async () => {
    for (let i = 0; i < 3; i++) sim.store.deals.create({ title: `d${i}` });
    const r = await api.get<ListBody>('/api/v2/deals', { limit: 2 });
    const decoded: unknown = JSON.parse(Buffer.from(r.body.additional_data.next_cursor!, 'base64url').toString());
    expect(decoded).toEqual({ field: 'id', fieldValue: 3, sortDirection: 'asc', id: 3 });
  });

  it('rejects limit above 500, non-positive limits, bad cursors and cursors of another sort', async () => {
    sim.store.deals.create({ title: 'x' });
    sim.store.deals.create({ title: 'y' });
    const tooBig = await api.get<ErrorBody>('/api/v2/deals', { limit: 501 });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body).toMatchObject({ success: false, error: expect.stringContaining('limit') });
    expect((await api.get('/api/v2/deals', { limit: 500 })).status).toBe(200);
    expect((await api.get('/api/v2/deals', { limit: 0 })).status).toBe(400);
    expect((await api.get('/api/v2/deals', { limit: 'ten' })).status).toBe(400);
    expect((await api.get('/api/v2/deals', { cursor: 'not-a-cursor' })).status).toBe(400);
    const byId = await api.get<ListBody>('/api/v2/deals', { limit: 1 });
    const mixed = await api.get<ErrorBody>('/api/v2/deals', { sort_by: 'update_time', cursor: byId.body.additional_data.next_cursor! });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error).toMatch(/cursor/);
  });
});

describe('GET /api/v2/deals filters', () => {
  beforeEach(async () => {
    sim = await startFrozen();
    api = client(sim);
    for (let i = 0; i < 3; i++) {
      sim.store.deals.create({ title: `at +${i}s`, status: (['open', 'won', 'lost'] as const)[i]!, owner_id: i + 1 });
      sim.clock.advance(1000);
    }
  });

  const idsOf = async (query: Record<string, string | number>): Promise<number[]> => {
    const r = await api.get<ListBody>('/api/v2/deals', query);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.data.map((d) => d.id);
  };

  it('updated_since is inclusive and updated_until exclusive, at whole seconds', async () => {
    expect(await idsOf({ updated_since: iso(T0_SEC + 1) })).toEqual([2, 3]);
    expect(await idsOf({ updated_until: iso(T0_SEC + 2) })).toEqual([1, 2]);
    expect(await idsOf({ updated_since: iso(T0_SEC + 1), updated_until: iso(T0_SEC + 2) })).toEqual([2]);
    expect(await idsOf({ updated_since: iso(T0_SEC + 1), updated_until: iso(T0_SEC + 1) })).toEqual([]);
    // A fractional bound: 12:00:01.5 excludes the deal updated at 12:00:01.
    expect(await idsOf({ updated_since: '2026-01-15T12:00:01.500Z' })).toEqual([3]);
    expect(await idsOf({ updated_since: '2026-01-15T13:00:01+01:00' })).toEqual([2, 3]);
    for (const dir of ['asc', 'desc']) {
      const got = await idsOf({ sort_by: 'update_time', sort_direction: dir, updated_since: iso(T0_SEC + 1), updated_until: iso(T0_SEC + 2) });
      expect(got).toEqual([2]);
    }
  });

  it('rejects timestamps that are not RFC 3339', async () => {
    const r = await api.get<ErrorBody>('/api/v2/deals', { updated_since: '2026-01-15 12:00:00' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/updated_since/);
  });

  it('filters by status (comma-separated), excludes deleted by default, and status=deleted returns them', async () => {
    expect(await idsOf({ status: 'open,lost' })).toEqual([1, 3]);
    await api.del('/api/v2/deals/2');
    expect(await idsOf({})).toEqual([1, 3]);
    const deleted = await api.get<ListBody>('/api/v2/deals', { status: 'deleted' });
    expect(deleted.body.data.map((d) => [d.id, d.status, d.is_deleted])).toEqual([[2, 'deleted', true]]);
    expect(await idsOf({ status: 'won,deleted' })).toEqual([2]);
    expect((await api.get('/api/v2/deals', { status: 'archived' })).status).toBe(400);
  });

  it('filters by ids and owner_id, and rejects more than 100 ids', async () => {
    expect(await idsOf({ ids: '3,1,77' })).toEqual([1, 3]);
    expect(await idsOf({ owner_id: 2 })).toEqual([2]);
    const many = Array.from({ length: 101 }, (_, i) => i + 1).join(',');
    expect((await api.get('/api/v2/deals', { ids: many })).status).toBe(400);
  });

  it('sorts by update_time after an update moves a deal to the end', async () => {
    await api.patch('/api/v2/deals/1', { title: 'touched' });
    expect(await idsOf({ sort_by: 'update_time' })).toEqual([2, 3, 1]);
    expect(await idsOf({ sort_by: 'update_time', sort_direction: 'desc' })).toEqual([1, 3, 2]);
    expect(await idsOf({ sort_by: 'add_time', sort_direction: 'desc' })).toEqual([3, 2, 1]);
    expect((await api.get('/api/v2/deals', { sort_by: 'title' })).status).toBe(400);
    expect((await api.get('/api/v2/deals', { sort_direction: 'up' })).status).toBe(400);
  });
});
