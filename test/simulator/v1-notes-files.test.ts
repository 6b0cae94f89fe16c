import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { startFrozen, T0_SEC } from './helpers.ts';
import { v1Client, v1Time, walkOffset, type Json, type OffsetBody, type Query, type V1Client } from './v1-helpers.ts';

const DAY = 86_400;
let sim: Simulator;
let api: V1Client;

beforeEach(async () => {
  sim = await startFrozen({ deals: 120 });
  api = v1Client(sim);
});
afterEach(async () => {
  await sim.close();
});

const ids = (rows: Json[]): number[] => rows.map((r) => r['id'] as number);

describe('GET /v1/notes', () => {
  it('pages by start/limit in id order; pages add up to the whole list', async () => {
    const live = sim.store.v1.notes.rows.all().filter((r) => r.deletedAtMs === null).map((r) => r.id);
    const { items, pages } = await walkOffset(api, '/notes', { limit: 7 });
    expect(ids(items)).toEqual(live);
    expect(pages[0]!.additional_data.pagination).toEqual({ start: 0, limit: 7, more_items_in_collection: true, next_start: 7 });
    const empty = await api.get<OffsetBody>('/notes', { start: 10_000 });
    expect(empty.body.data).toEqual([]);
    expect(empty.body.additional_data.pagination.more_items_in_collection).toBe(false);
    for (const q of [{ limit: 0 }, { limit: 501 }, { start: -1 }, { limit: 'x' }, { sort: 'title ASC' }, { sort: 'id SIDEWAYS' }] as Query[]) {
      expect((await api.get('/notes', q)).status, JSON.stringify(q)).toBe(400);
    }
  });

  it('filters by links, user, pins, add date and updated_since; sorts by any supported field', async () => {
    const all = sim.store.v1.notes.rows.all();
    const deal = all.find((r) => r.data.deal_id !== null)!.data.deal_id!;
    const byDeal = (await api.get<OffsetBody>('/notes', { deal_id: deal, limit: 500 })).body.data;
    expect(ids(byDeal)).toEqual(all.filter((r) => r.data.deal_id === deal).map((r) => r.id));
    const byUser = (await api.get<OffsetBody>('/notes', { user_id: 2, limit: 500 })).body.data;
    expect(byUser.every((n) => n['user_id'] === 2)).toBe(true);
    expect(byUser.length).toBe(all.filter((r) => r.data.user_id === 2).length);
    const pinned = (await api.get<OffsetBody>('/notes', { pinned_to_deal_flag: 1, limit: 500 })).body.data;
    expect(pinned.every((n) => n['pinned_to_deal_flag'] === true)).toBe(true);

    const since = T0_SEC - 10 * DAY;
    const updated = (await api.get<OffsetBody>('/notes', { updated_since: new Date(since * 1000).toISOString(), limit: 500 })).body.data;
    expect(ids(updated)).toEqual(all.filter((r) => r.updateSec >= since).map((r) => r.id));
    const day = new Date((T0_SEC - 5 * DAY) * 1000).toISOString().slice(0, 10);
    const onDay = (await api.get<OffsetBody>('/notes', { start_date: day, end_date: day, limit: 500 })).body.data;
    expect(onDay.every((n) => String(n['add_time']).startsWith(day))).toBe(true);

    const desc = (await api.get<OffsetBody>('/notes', { sort: 'update_time DESC', limit: 500 })).body.data.map((n) => n['update_time'] as string);
    expect(desc).toEqual([...desc].sort().reverse());
    const byContent = (await api.get<OffsetBody>('/notes', { sort: 'content ASC, id DESC', limit: 500 })).body.data.map((n) => n['content'] as string);
    expect(byContent).toEqual([...byContent].sort());
  });
});

describe('note writes', () => {
  it('create, update and delete with Pipedrive’s side effects', async () => {
    const created = await api.post<{ data: Json }>('/notes', { content: '<b>Hi</b>', deal_id: 3, pinned_to_deal_flag: 1, add_time: '2025-12-01 10:00:00' });
    expect(created.status).toBe(200);
    const id = created.body.data['id'] as number;
    expect(created.body.data).toMatchObject({
      content: '<b>Hi</b>', deal_id: 3, pinned_to_deal_flag: true, active_flag: true, user_id: 1, last_update_user_id: 1,
      add_time: '2025-12-01 10:00:00', update_time: v1Time(T0_SEC), deal: { title: sim.store.deals.get(3)!.title }, user: expect.objectContaining({ is_you: true }),
    });
    sim.clock.advance(5000);
    const updated = await api.put<{ data: Json }>(`/notes/${id}`, { content: 'edited', pinned_to_deal_flag: 0 });
    expect(updated.body.data).toMatchObject({ content: 'edited', pinned_to_deal_flag: false, update_time: v1Time(T0_SEC + 5) });
    expect(sim.store.journal.of('note', id).at(-1)!.changes.map((c) => c.field)).toEqual(['content', 'pinned']);

    const del = await api.del<{ data: boolean }>(`/notes/${id}`);
    expect(del.body).toEqual({ success: true, data: true });
    expect((await api.get<{ data: Json }>(`/notes/${id}`)).body.data).toMatchObject({ active_flag: false });
    expect(ids((await api.get<OffsetBody>('/notes', { deal_id: 3 })).body.data)).not.toContain(id);
    expect((await api.del(`/notes/${id}`)).status).toBe(404);
    expect((await api.put(`/notes/${id}`, { content: 'x' })).status).toBe(404);
    sim.clock.advance(31 * DAY * 1000);
    expect((await api.get(`/notes/${id}`)).status).toBe(404); // purged 30 days after deletion
  });

  it('validates the body', async () => {
    const cases: [Json, RegExp][] = [
      [{ deal_id: 1 }, /content/], [{ content: 'x' }, /attached/], [{ content: 'x', deal_id: 999_999 }, /Deal not found/],
      [{ content: 'x', deal_id: 'one' }, /deal_id/], [{ content: 'x', deal_id: 1, pinned_to_deal_flag: 3 }, /pinned_to_deal_flag/],
      [{ content: 'x', deal_id: 1, add_time: '2025-12-01' }, /add_time/], [{ content: 'x', lead_id: 'nope' }, /lead_id/],
    ];
    for (const [body, msg] of cases) {
      const r = await api.post<{ error: string }>('/notes', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatch(msg);
    }
  });
});

describe('files', () => {
  it('lists at most 100 per page, in id or update_time order', async () => {
    expect((await api.get('/files', { limit: 101 })).status).toBe(400);
    const live = sim.store.v1.files.rows.all().filter((r) => r.deletedAtMs === null).map((r) => r.id);
    expect(ids((await walkOffset(api, '/files', { limit: 2 })).items)).toEqual(live);
    const byUpdate = (await api.get<OffsetBody>('/files', { sort: 'update_time DESC', limit: 100 })).body.data.map((f) => f['update_time'] as string);
    expect(byUpdate).toEqual([...byUpdate].sort().reverse());
  });

  it('stores metadata, renames, and deletes softly (then purges)', async () => {
    const r = await api.post<{ data: Json }>('/files', { file_name: 'quote.pdf', file_size: 2048, deal_id: 4 });
    expect(r.body.data).toMatchObject({ file_name: 'quote.pdf', file_type: 'pdf', file_size: 2048, deal_id: 4, active_flag: true, name: 'quote.pdf', deal_name: sim.store.deals.get(4)!.title });
    const id = r.body.data['id'] as number;
    sim.clock.advance(1000);
    const renamed = await api.put<{ data: Json }>(`/files/${id}`, { name: 'Final quote', description: 'signed' });
    expect(renamed.body.data).toMatchObject({ name: 'Final quote', description: 'signed', update_time: v1Time(T0_SEC + 1) });
    expect((await api.del<{ data: Json }>(`/files/${id}`)).body.data).toEqual({ id });
    expect((await api.get<{ data: Json }>(`/files/${id}`)).body.data).toMatchObject({ active_flag: false });
    expect(ids((await api.get<OffsetBody>('/files', { limit: 100, sort: 'update_time DESC' })).body.data)).not.toContain(id);
    sim.clock.advance(31 * DAY * 1000);
    expect((await api.get(`/files/${id}`)).status).toBe(404);
    expect((await api.post('/files', { deal_id: 4 })).status).toBe(400);
  });
});
