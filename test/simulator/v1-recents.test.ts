import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, T0_SEC } from './helpers.ts';
import { v1Client, v1Time, V1_TIME, walkOffset, type Json, type Query, type V1Client } from './v1-helpers.ts';

interface Item { item: string; id: number; data: Json & Json[] }
interface RecentsBody { data: Item[]; additional_data: { since_timestamp: string; last_timestamp_on_page: string; pagination: { start: number; limit: number; more_items_in_collection: boolean; next_start?: number } } }

const DAY = 86_400;
let sim: Simulator;
let api: V1Client;

beforeEach(async () => {
  sim = await startFrozen({ deals: 80 });
  api = v1Client(sim);
});
afterEach(async () => {
  await sim.close();
});

const recents = (since: number | string, extra: Record<string, string | number> = {}) =>
  api.get<RecentsBody>('/recents', { since_timestamp: typeof since === 'number' ? v1Time(since) : since, ...extra });
const find = (body: RecentsBody, item: string, id: number): Item | undefined => body.data.find((d) => d.item === item && d.id === id);

describe('GET /v1/recents', () => {
  it('returns every seeded and written item changed in the window once, oldest change first', async () => {
    const since = T0_SEC - 20 * DAY;
    const { items } = await walkOffset<Item>(api, '/recents', { since_timestamp: v1Time(since), limit: 37 });
    const expected = (rows: readonly { id: number; updateSec: number }[]) => rows.filter((r) => r.updateSec > since).map((r) => r.id).sort((a, b) => a - b);
    const ids = (item: string) => items.filter((i) => i.item === item).map((i) => i.id).sort((a, b) => a - b);
    expect(ids('deal')).toEqual(expected(sim.store.deals.table.all()));
    expect(ids('note')).toEqual(expected(sim.store.v1.notes.rows.all()));
    expect(ids('person')).toEqual(expected(sim.store.persons.table.all()));
    expect(ids('deal').length).toBeGreaterThan(5);
    expect(new Set(items.map((i) => `${i.item}:${i.id}`)).size).toBe(items.length);
    const times = items.map((i) => String((Array.isArray(i.data) ? i.data[0]! : i.data)['update_time'] ?? ''));
    for (const t of times.filter((x) => V1_TIME.test(x))) expect(t > v1Time(since)).toBe(true);
  });

  it('since_timestamp is exclusive and last_timestamp_on_page is the last item’s change time', async () => {
    const note = await api.post<{ data: Json }>('/notes', { content: 'x', deal_id: 1 });
    const id = note.body.data['id'] as number;
    expect(find((await recents(T0_SEC - 1)).body, 'note', id)).toBeDefined();
    expect(find((await recents(T0_SEC)).body, 'note', id)).toBeUndefined();
    const page = (await recents(T0_SEC - 30 * DAY + 60, { limit: 5 })).body;
    expect(page.data).toHaveLength(5);
    const last = page.data[4]!;
    const lastTime = last.item === 'user' ? last.data[0]!['modified'] : last.data['update_time'];
    expect(page.additional_data.last_timestamp_on_page).toBe(lastTime);
    const empty = (await recents(T0_SEC + 5)).body;
    expect(empty.data).toEqual([]);
    expect(empty.additional_data.last_timestamp_on_page).toBe(v1Time(T0_SEC + 5));
  });

  it('pages by start/limit with next_start; the pages add up to one big page', async () => {
    const since = T0_SEC - 25 * DAY;
    const big = (await recents(since, { limit: 500 })).body;
    const { items, pages } = await walkOffset<Item>(api, '/recents', { since_timestamp: v1Time(since), limit: 9 });
    expect(items.map((i) => `${i.item}:${i.id}`)).toEqual(big.data.map((i) => `${i.item}:${i.id}`));
    expect(pages.length).toBe(Math.ceil(big.data.length / 9));
    const p = pages[0]!.additional_data.pagination;
    expect(p).toEqual({ start: 0, limit: 9, more_items_in_collection: true, next_start: 9 });
    expect(pages.at(-1)!.additional_data.pagination.next_start).toBeUndefined();
  });

  it('filters by items (one or several) and validates its parameters', async () => {
    const since = T0_SEC - 25 * DAY;
    const notes = (await recents(since, { items: 'note', limit: 500 })).body.data;
    expect(notes.length).toBeGreaterThan(0);
    expect(new Set(notes.map((d) => d.item))).toEqual(new Set(['note']));
    const two = (await recents(since, { items: 'deal,file', limit: 500 })).body.data;
    expect(new Set(two.map((d) => d.item))).toEqual(new Set(['deal', 'file']));
    for (const q of [{}, { since_timestamp: '2026-01-01' }, { since_timestamp: '2026-01-01T00:00:00Z' }, { since_timestamp: v1Time(since), items: 'lead' }, { since_timestamp: v1Time(since), limit: 501 }] as Query[]) {
      const r = await api.get<Json>('/recents', q);
      expect(r.status, JSON.stringify(q)).toBe(400);
      expect(r.body).toMatchObject({ success: false, error: expect.any(String) });
    }
  });

  it('reaches at most 30 days back on the sim clock: older since_timestamp values are cut, not refused', async () => {
    const note = (await api.post<{ data: Json }>('/notes', { content: 'old news', deal_id: 1 })).body.data['id'] as number;
    sim.clock.advance(31 * DAY * 1000);
    const now = T0_SEC + 31 * DAY;
    const fresh = (await api.post<{ data: Json }>('/notes', { content: 'fresh', deal_id: 1 })).body.data['id'] as number;
    const r = await recents(T0_SEC - 1, { items: 'note', limit: 500 });
    expect(r.status).toBe(200);
    expect(find(r.body, 'note', note)).toBeUndefined();
    expect(find(r.body, 'note', fresh)).toBeDefined();
    expect(r.body.additional_data.since_timestamp).toBe(v1Time(now - 30 * DAY));
    const inWindow = v1Time(now - 10);
    expect((await recents(inWindow, { items: 'note' })).body.additional_data.since_timestamp).toBe(inWindow);
  });

  it('shows writes with their flags: notes, files, activity types, users, deals, persons', async () => {
    const since = T0_SEC - 1;
    const note = (await api.post<{ data: Json }>('/notes', { content: 'a', deal_id: 2 })).body.data['id'] as number;
    sim.clock.advance(2000);
    await api.del(`/notes/${note}`);
    const file = (await api.post<{ data: Json }>('/files', { file_name: 'x.pdf', deal_id: 2 })).body.data['id'] as number;
    await api.del(`/files/${file}`);
    const type = (await api.post<{ data: Json }>('/activityTypes', { name: 'Demo', icon_key: 'bulb' })).body.data['id'] as number;
    await api.del(`/activityTypes/${type}`);
    await api.put('/users/3', { active_flag: false });
    sim.store.v1.users.delete(1, 4);
    await client(sim).patch('/api/v2/deals/3', { title: 'Changed in v2', value: 77 });
    await client(sim).patch('/api/v2/persons/1', { name: 'Renamed Person' });

    const body = (await recents(since, { limit: 500 })).body;
    expect(find(body, 'note', note)!.data).toMatchObject({ id: note, active_flag: false, update_time: v1Time(T0_SEC + 2) });
    expect(find(body, 'file', file)!.data).toMatchObject({ active_flag: false });
    expect(find(body, 'activityType', type)!.data).toMatchObject({ active_flag: false, is_custom_flag: true });
    const user3 = find(body, 'user', 3)!;
    expect(Array.isArray(user3.data)).toBe(true);
    expect(user3.data[0]).toMatchObject({ id: 3, active_flag: false, is_deleted: false });
    expect(find(body, 'user', 4)!.data[0]).toMatchObject({ active_flag: false, is_deleted: true });
    expect(find(body, 'deal', 3)!.data).toMatchObject({ id: 3, title: 'Changed in v2', value: 77, deleted: false, update_time: v1Time(T0_SEC + 2) });
    expect(find(body, 'deal', 3)!.data).toHaveProperty('user_id');
    expect(find(body, 'person', 1)!.data).toMatchObject({ name: 'Renamed Person', active_flag: true });
    // Writes are journaled too (flow and changelog read the journal).
    expect(sim.store.journal.of('note', note).map((e) => e.action)).toEqual(['add', 'delete']);
  });

  it('deleted deals appear with deleted/active flags and v1 field names', async () => {
    await client(sim).del('/api/v2/deals/5');
    const deal = find((await recents(T0_SEC - 1, { items: 'deal' })).body, 'deal', 5)!.data;
    expect(deal).toMatchObject({ id: 5, deleted: true, active: false, status: 'deleted' });
    expect(typeof deal['visible_to']).toBe('string');
    expect(deal['add_time']).toMatch(V1_TIME);
  });

  it('is served under /v1 and /api/v1', async () => {
    const q = { since_timestamp: v1Time(T0_SEC - DAY) };
    const a = await v1Client(sim, sim.token, '/api/v1').get<RecentsBody>('/recents', q);
    const b = await api.get<RecentsBody>('/recents', q);
    expect(a.status).toBe(200);
    expect(a.body).toEqual(b.body);
  });
});

describe('the recents index', () => {
  it('stays identical to a fresh build across writes, deletes, creates, clock moves and item filters', async () => {
    const { RecentsIndex } = await import('../../src/simulator/routes/v1/recents-index.ts');
    const { recentsSources, RECENTS_ITEMS } = await import('../../src/simulator/routes/v1/recents-sources.ts');
    const live = new RecentsIndex(sim.store, recentsSources(sim.store), 30 * DAY);
    const keys = (from: number, items: readonly (typeof RECENTS_ITEMS)[number][], idx = live) =>
      idx.entries(from, items).map((e) => `${e.source.item}:${e.row.id}@${e.sec}`);
    const all = [...RECENTS_ITEMS];
    let from = T0_SEC - 20 * DAY;
    for (let step = 0; step < 60; step++) {
      const k = step % 6;
      if (k === 0) sim.store.deals.update(1 + (step % 40), { value: step });
      if (k === 1) sim.store.v1.notes.create(1, { content: `n${step}`, deal_id: 2 });
      if (k === 2) sim.store.v1.notes.update(1, 1 + (step % 10), { content: `u${step}` });
      if (k === 3) sim.store.deals.delete(41 + step);
      if (k === 4) sim.store.persons.update(1 + (step % 5), { name: `P${step}` });
      if (k === 5) sim.clock.advance(step % 12 === 5 ? -1500 : 700); // sometimes backwards
      if (step % 7 === 0) from += 3600;
      const items = step % 3 === 0 ? all : step % 3 === 1 ? (['note'] as const) : (['deal', 'person'] as const);
      const fresh = new RecentsIndex(sim.store, recentsSources(sim.store), 30 * DAY);
      expect(keys(from, items), `step ${step}`).toEqual(keys(from, items, fresh));
    }
  });
});
