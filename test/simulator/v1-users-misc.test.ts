import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { startFrozen, T0_SEC } from './helpers.ts';
import { v1Client, v1Time, walkCursor, walkOffset, type Json, type OffsetBody, type V1Client } from './v1-helpers.ts';

const REGULAR = { token: 'b'.repeat(40), userId: 2, admin: false };
let sim: Simulator;
let api: V1Client;

beforeEach(async () => {
  sim = await startFrozen({ deals: 400, tokens: [REGULAR] });
  api = v1Client(sim);
});
afterEach(async () => {
  await sim.close();
});

type DataBody<T = Json> = { data: T };

describe('users', () => {
  it('lists all users (unpaginated); is_you follows the token', async () => {
    const users = (await api.get<DataBody<Json[]>>('/users')).body.data;
    expect(users.map((u) => u['id'])).toEqual([1, 2, 3, 4, 5]);
    expect(users.filter((u) => u['is_you']).map((u) => u['id'])).toEqual([1]);
    const asTwo = (await v1Client(sim, REGULAR.token).get<DataBody<Json[]>>('/users')).body.data;
    expect(asTwo.filter((u) => u['is_you']).map((u) => u['id'])).toEqual([2]);
    expect((await v1Client(sim, REGULAR.token).get<DataBody>('/users/me')).body.data).toMatchObject({ id: 2, is_you: true, company_id: 1 });
    expect((await api.get('/users/99')).status).toBe(404);
  });

  it('admins add users and (de)activate them; others get 403', async () => {
    const added = await api.post<DataBody>('/users', { email: 'zoe@sim.example', access: [{ app: 'sales', admin: false }] });
    expect(added.body.data).toMatchObject({ id: 6, email: 'zoe@sim.example', name: 'zoe', active_flag: true, is_deleted: false, last_login: null, created: v1Time(T0_SEC) });
    sim.clock.advance(60_000);
    const off = await api.put<DataBody>('/users/6', { active_flag: false });
    expect(off.body.data).toMatchObject({ active_flag: false, modified: v1Time(T0_SEC + 60) });
    const regular = v1Client(sim, REGULAR.token);
    expect((await regular.post('/users', { email: 'x@y.z' })).status).toBe(403);
    expect((await regular.put('/users/3', { active_flag: false })).status).toBe(403);
    expect((await api.post('/users', { email: 'not-an-email' })).status).toBe(400);
    expect((await api.put('/users/3', {})).status).toBe(400);
  });
});

describe('activity types', () => {
  it('adds, edits and deletes custom types; a deleted type stays listed inactive', async () => {
    const added = await api.post<DataBody>('/activityTypes', { name: 'Demo', icon_key: 'presentation', color: '00AAFF' });
    const id = added.body.data['id'] as number;
    expect(added.body.data).toMatchObject({ name: 'Demo', icon_key: 'presentation', color: '00AAFF', is_custom_flag: true, active_flag: true, key_string: `custom_${id}` });
    sim.clock.advance(1000);
    expect((await api.put<DataBody>(`/activityTypes/${id}`, { order_nr: 9 })).body.data).toMatchObject({ order_nr: 9, update_time: v1Time(T0_SEC + 1) });
    expect((await api.del<DataBody>(`/activityTypes/${id}`)).body.data).toMatchObject({ id, active_flag: false });
    const listed = (await api.get<DataBody<Json[]>>('/activityTypes')).body.data.find((t) => t['id'] === id);
    expect(listed).toMatchObject({ active_flag: false });
    expect((await api.del(`/activityTypes/${id}`)).status).toBe(404);
    expect((await api.post('/activityTypes', { name: 'x', icon_key: 'unicorn' })).status).toBe(400);
    expect((await api.post('/activityTypes', { name: 'x', icon_key: 'call', color: 'red' })).status).toBe(400);
  });
});

describe('filters, company structure, currencies', () => {
  it('filters by type, one with conditions, helpers', async () => {
    const deals = (await api.get<DataBody<Json[]>>('/filters', { type: 'deals' })).body.data;
    expect(deals.length).toBeGreaterThan(0);
    expect(deals.every((f) => f['type'] === 'deals')).toBe(true);
    expect((await api.get<DataBody>(`/filters/${deals[0]!['id']}`)).body.data).toHaveProperty('conditions.glue', 'and');
    expect((await api.get<DataBody>('/filters/helpers')).body.data).toHaveProperty('operators');
    expect((await api.get('/filters', { type: 'nope' })).status).toBe(400);
    expect((await api.get('/filters/999')).status).toBe(404);
  });

  it('roles (paged), permission sets and their assignments, legacy teams', async () => {
    const { items } = await walkOffset(api, '/roles', { limit: 2 });
    expect(items.map((r) => r['id'])).toEqual([1, 2, 3, 4]);
    expect((await api.get<DataBody>('/roles/2')).body).toMatchObject({ data: { id: 2 }, additional_data: { settings: expect.any(Object) } });
    const sales = (await api.get<DataBody<Json[]>>('/permissionSets', { app: 'sales' })).body.data;
    expect(sales.map((s) => s['type']).sort()).toEqual(['admin', 'regular']);
    const regular = sales.find((s) => s['type'] === 'regular')!;
    const assigned = (await api.get<OffsetBody>(`/permissionSets/${regular['id']}/assignments`)).body.data;
    expect(assigned.map((a) => a['user_id'])).toEqual([2, 3, 4, 5]);
    expect(regular['assignment_count']).toBe(4);
    const teams = (await api.get<DataBody<Json[]>>('/legacyTeams', { order_by: 'name', skip_users: 1 })).body.data;
    expect(teams.map((t) => t['name'])).toEqual(['Closers', 'Outbound', 'Pilot squad']);
    expect(teams[0]).not.toHaveProperty('users');
    expect((await api.get<DataBody>('/legacyTeams/2/users')).body.data).toEqual([4, 5]);
    expect((await api.get<Json>('/legacyTeams/9')).body).toEqual({ success: false, error: 'Team 9 does not exist' });
  });

  it('currencies by term', async () => {
    expect((await api.get<DataBody<Json[]>>('/currencies', { term: 'dollar' })).body.data.map((c) => c['code'])).toEqual(['USD', 'CAD', 'AUD']);
  });
});

describe('call logs', () => {
  it('lists only the token user’s calls, at most 50 per page', async () => {
    expect((await api.get('/callLogs', { limit: 51 })).status).toBe(400);
    const mine = (await walkOffset(api, '/callLogs', { limit: 5 })).items;
    const expected = sim.store.v1.callLogs.rows.all().filter((r) => r.data.user_id === 1).map((r) => r.data.cid);
    expect(mine.map((c) => c['id'])).toEqual(expected);
    expect(expected.length).toBeGreaterThan(1);
    const other = sim.store.v1.callLogs.rows.all().find((r) => r.data.user_id === 3)!.data.cid;
    expect((await v1Client(sim, REGULAR.token).get(`/callLogs/${other}`)).status).toBe(404);
    expect((await api.get<DataBody>(`/callLogs/${other}`)).body.data).toMatchObject({ id: other, user_id: 3 });
  });
});

describe('projects and tasks (cursor)', () => {
  it('walks every page; filters', async () => {
    const projects = await walkCursor(api, '/projects', { limit: 1 });
    const expected = sim.store.v1.projects.projects.all().filter((p) => p.data.status !== 'deleted').map((p) => p.id);
    expect(projects.items.map((p) => p['id'])).toEqual(expected);
    expect(projects.pages).toBe(expected.length + (expected.length === 0 ? 1 : 0));
    const open = (await walkCursor(api, '/projects', { status: 'open' })).items;
    expect(open.every((p) => p['status'] === 'open')).toBe(true);
    const tasks = await walkCursor(api, '/tasks', { limit: 3 });
    expect(tasks.items.length).toBe(sim.store.v1.projects.tasks.all().length);
    const done = (await walkCursor(api, '/tasks', { done: 1 })).items;
    expect(done.every((t) => t['done'] === 1)).toBe(true);
    const ofFirst = (await walkCursor(api, '/tasks', { project_id: 1, parent_task_id: 'null' })).items;
    expect(ofFirst.every((t) => t['project_id'] === 1 && t['parent_task_id'] === null)).toBe(true);
    expect((await api.get('/projects', { cursor: 'garbage' })).status).toBe(400);
    expect((await api.get('/projects/9999')).status).toBe(404);
  });
});

describe('*Fields', () => {
  it('lists the catalog in the v1 shape, paged; custom fields carry 40-hex keys and show for leads too', async () => {
    const added = sim.store.fields.add('deal', { name: 'Sim tier', field_type: 'enum', options: ['Gold', 'Silver'] });
    const { items } = await walkOffset(api, '/dealFields', { limit: 10 });
    expect(items.map((f) => f['key'])).toEqual(sim.store.fields.list('deal').map((f) => f.key));
    const field = items.find((f) => f['key'] === added.key)!;
    expect(field).toMatchObject({ name: 'Sim tier', field_type: 'enum', edit_flag: true, active_flag: true, options: [{ label: 'Gold' }, { label: 'Silver' }].map((o, i) => ({ id: added.options![i]!.id, ...o })) });
    expect(added.key).toMatch(/^[0-9a-f]{40}$/);
    expect((await api.get<OffsetBody>('/leadFields', { limit: 500 })).body.data.map((f) => f['key'])).toContain(added.key);
    expect((await api.get<DataBody>(`/dealFields/${added.id}`)).body.data['key']).toBe(added.key);
    expect((await api.get('/dealFields/99999')).status).toBe(404);
    for (const path of ['personFields', 'organizationFields', 'productFields', 'activityFields', 'noteFields']) {
      expect((await api.get<OffsetBody>(`/${path}`)).body.data.length, path).toBeGreaterThan(0);
    }
  });
});
