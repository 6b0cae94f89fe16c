import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { startFrozen, T0_SEC } from './helpers.ts';
import { v1Client, walkOffset, type Json, type OffsetBody, type V1Client } from './v1-helpers.ts';

const DAY = 86_400;
let sim: Simulator;
let api: V1Client;

beforeEach(async () => {
  sim = await startFrozen({ deals: 200 });
  api = v1Client(sim);
});
afterEach(async () => {
  await sim.close();
});

const iso = (sec: number): string => new Date(sec * 1000).toISOString();

describe('GET /v1/leads', () => {
  it('lists non-archived leads oldest first, pages, and lists archived ones separately', async () => {
    const rows = sim.store.v1.leads.rows.all();
    const { items } = await walkOffset(api, '/leads', { limit: 3 });
    expect(items.map((l) => l['id'])).toEqual(rows.filter((r) => !r.data.is_archived).map((r) => r.data.uuid));
    const archived = (await api.get<OffsetBody>('/leads/archived', { limit: 500 })).body.data;
    expect(archived.map((l) => l['id'])).toEqual(rows.filter((r) => r.data.is_archived).map((r) => r.data.uuid));
    expect(archived.every((l) => l['is_archived'] === true)).toBe(true);
    expect(items[0]).toMatchObject({ add_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/) });
  });

  it('filters by owner, person, updated_since; sorts', async () => {
    const rows = sim.store.v1.leads.rows.all().filter((r) => !r.data.is_archived);
    const owner = rows[0]!.data.owner_id;
    const mine = (await api.get<OffsetBody>('/leads', { owner_id: owner, limit: 500 })).body.data;
    expect(mine.length).toBe(rows.filter((r) => r.data.owner_id === owner).length);
    const since = T0_SEC - 20 * DAY;
    const updated = (await api.get<OffsetBody>('/leads', { updated_since: iso(since), limit: 500 })).body.data;
    expect(updated.length).toBe(rows.filter((r) => r.updateSec >= since).length);
    const byTitle = (await api.get<OffsetBody>('/leads', { sort: 'title DESC', limit: 500 })).body.data.map((l) => l['title'] as string);
    expect(byTitle).toEqual([...byTitle].sort().reverse());
    expect((await api.get('/leads', { sort: 'value ASC' })).status).toBe(400);
    expect((await api.get('/leads', { updated_since: '2026-01-01 00:00:00' })).status).toBe(400);
  });
});

describe('lead writes', () => {
  it('creates (201, source API), updates (update_time moves), archives and deletes', async () => {
    const label = sim.store.v1.leads.labelList()[0]!.data.uuid;
    const HASH = sim.store.fields.custom('deal').find((f) => f.field_type === 'varchar')!.key;
    const r = await api.post<{ data: Json }>('/leads', { title: 'Big one', person_id: 1, label_ids: [label], value: { amount: 1500, currency: 'EUR' }, [HASH]: 'custom!' });
    expect(r.status).toBe(201);
    expect(r.body.data).toMatchObject({ title: 'Big one', person_id: 1, organization_id: null, label_ids: [label], source_name: 'API', origin: 'API',
      value: { amount: 1500, currency: 'EUR' }, creator_id: 1, owner_id: 1, is_archived: false, add_time: iso(T0_SEC), [HASH]: 'custom!' });
    const id = r.body.data['id'] as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    sim.clock.advance(3000);
    const p = await api.patch<{ data: Json }>(`/leads/${id}`, { title: 'Bigger', value: null, [HASH]: null });
    expect(p.body.data).toMatchObject({ title: 'Bigger', value: null, update_time: iso(T0_SEC + 3) });
    expect(p.body.data).not.toHaveProperty(HASH);
    const unknown = 'f'.repeat(40);
    expect((await api.patch<{ data: Json }>(`/leads/${id}`, { [unknown]: 'ignored' })).body.data).not.toHaveProperty(unknown);
    expect(sim.store.journal.of('lead', id).map((e) => e.action)).toEqual(['add', 'update', 'update']);

    await api.patch(`/leads/${id}`, { is_archived: true });
    expect((await api.get<OffsetBody>('/leads', { limit: 500 })).body.data.map((l) => l['id'])).not.toContain(id);
    expect((await api.get<OffsetBody>('/leads/archived', { limit: 500 })).body.data.map((l) => l['id'])).toContain(id);
    expect((await api.del<{ data: Json }>(`/leads/${id}`)).body.data).toEqual({ id });
    expect((await api.get(`/leads/${id}`)).status).toBe(404);
    expect((await api.patch(`/leads/${id}`, { title: 'x' })).status).toBe(404);
  });

  it('validates', async () => {
    for (const body of [{ person_id: 1 }, { title: 'x' }, { title: 'x', person_id: 1, label_ids: ['00000000-0000-4000-a000-000000000000'] },
      { title: 'x', person_id: 1, value: { amount: '5' } }, { title: 'x', person_id: 1, visible_to: '2' }]) {
      expect((await api.post('/leads', body)).status, JSON.stringify(body)).toBe(400);
    }
  });
});

describe('lead labels and sources', () => {
  it('adds, renames and deletes labels; a deleted label leaves its leads', async () => {
    const added = await api.post<{ data: Json }>('/leadLabels', { name: 'Partner', color: 'green' });
    const id = added.body.data['id'] as string;
    expect(added.body.data).toMatchObject({ name: 'Partner', color: 'green' });
    const lead = (await api.post<{ data: Json }>('/leads', { title: 'L', organization_id: 1, label_ids: [id] })).body.data['id'] as string;
    expect((await api.patch<{ data: Json }>(`/leadLabels/${id}`, { name: 'Partners' })).body.data).toMatchObject({ name: 'Partners', color: 'green' });
    expect((await api.post('/leadLabels', { name: 'x', color: 'teal' })).status).toBe(400);
    await api.del(`/leadLabels/${id}`);
    expect((await api.get<{ data: Json[] }>('/leadLabels')).body.data.map((l) => l['id'])).not.toContain(id);
    expect((await api.get<{ data: Json }>(`/leads/${lead}`)).body.data['label_ids']).toEqual([]);
    expect((await api.get<{ data: Json[] }>('/leadSources')).body.data).toContainEqual({ name: 'API' });
  });
});

describe('goals', () => {
  const goal = { title: 'Win more', type: { name: 'deals_won', params: { pipeline_id: [1, 2] } }, assignee: { id: 2, type: 'person' },
    expected_outcome: { target: 20, tracking_metric: 'quantity' }, duration: { start: '2025-10-01', end: '2026-03-31' }, interval: 'quarterly' };

  it('finds the caller’s goals by default and everyone’s with a filter', async () => {
    const own = (await api.get<{ data: { goals: Json[] } }>('/goals/find')).body.data.goals;
    expect(own.length).toBe(sim.store.v1.goals.list().filter((g) => g.data.owner_id === 1).length);
    const u2 = (await api.get<{ data: { goals: Json[] } }>('/goals/find', { 'assignee.id': 2 })).body.data.goals;
    expect(u2.every((g) => (g['assignee'] as Json)['id'] === 2)).toBe(true);
    const won = (await api.get<{ data: { goals: Json[] } }>('/goals/find', { 'type.name': 'deals_won' })).body.data.goals;
    expect(won.every((g) => (g['type'] as Json)['name'] === 'deals_won')).toBe(true);
    expect((await api.get('/goals/find', { 'period.start': '2026-01-01' })).status).toBe(400);
  });

  it('adds, updates, deletes (inactive, gone from find) and computes results from deals', async () => {
    const added = await api.post<{ data: { goal: Json } }>('/goals', goal);
    const g = added.body.data.goal;
    expect(g).toMatchObject({ title: 'Win more', owner_id: 1, is_active: true, assignee: { id: 2, type: 'person' }, duration: { start: '2025-10-01', end: '2026-03-31' } });
    const id = g['id'] as string;
    expect((await api.put<{ data: { goal: Json } }>(`/goals/${id}`, { title: 'Win even more' })).body.data.goal['title']).toBe('Win even more');

    const res = await api.get<{ data: { progress: number } }>(`/goals/${id}/results`, { 'period.start': '2025-10-01', 'period.end': '2026-01-31' });
    const expected = sim.store.deals.table.all().filter((r) => r.data.owner_id === 2 && r.data.won_time !== null && [1, 2].includes(r.data.pipeline_id)
      && r.data.won_time.slice(0, 10) >= '2025-10-01' && r.data.won_time.slice(0, 10) <= '2026-01-31').length;
    expect(res.body.data.progress).toBe(expected);
    expect(expected).toBeGreaterThan(0);
    expect((await api.get(`/goals/${id}/results`, { 'period.start': '2025-01-01', 'period.end': '2025-12-31' })).status).toBe(400);

    expect((await api.del(`/goals/${id}`)).body).toEqual({ success: true });
    const all = (await api.get<{ data: { goals: Json[] } }>('/goals/find', { 'assignee.id': 2, is_active: 'false' })).body.data.goals;
    expect(all.map((x) => x['id'])).not.toContain(id);
    expect((await api.put(`/goals/${id}`, { title: 'x' })).status).toBe(404);
    expect((await api.post('/goals', { ...goal, interval: 'daily' })).status).toBe(400);
  });
});
