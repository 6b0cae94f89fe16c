import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, T0_SEC, type Client, type ErrorBody } from './helpers.ts';
import { ids, iso, walk, type One, type Page } from './v2-helpers.ts';

const DAY_MS = 24 * 3600 * 1000;
let sim: Simulator;
let api: Client;

beforeEach(async () => {
  sim = await startFrozen();
  api = client(sim);
});
afterEach(async () => {
  await sim.close();
});

describe('GET /api/v2/persons pagination and filters', () => {
  beforeEach(() => {
    // 12 persons: update times on 3 seconds with ties, add times shuffled against ids.
    for (let i = 0; i < 12; i++) {
      sim.store.persons.insertAt(T0_SEC - 100 + ((i * 5) % 7), T0_SEC - 10 + (i % 3), { name: `P${i}`, owner_id: (i % 2) + 1, org_id: i < 4 ? 7 : null });
    }
  });

  it('walks every person exactly once in (sort value, id) order, every sort, direction and limit', async () => {
    const all = [...sim.store.persons.table.all()];
    for (const sortBy of ['id', 'update_time', 'add_time'] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const key = (r: (typeof all)[number]) => (sortBy === 'id' ? r.id : sortBy === 'add_time' ? r.addSec : r.updateSec);
        const expected = [...all].sort((a, b) => key(a) - key(b) || a.id - b.id).map((r) => r.id);
        if (dir === 'desc') expected.reverse();
        for (const limit of [1, 5, 500]) {
          const { rows } = await walk(api, '/api/v2/persons', { sort_by: sortBy, sort_direction: dir, limit });
          expect(ids(rows), `${sortBy} ${dir} ${limit}`).toEqual(expected);
        }
      }
    }
  });

  it('updated_since is inclusive, updated_until exclusive; ids, owner_id, org_id and deal_id filter', async () => {
    const got = async (q: Record<string, string | number>) => ids((await walk(api, '/api/v2/persons', q)).rows);
    expect(await got({ updated_since: iso(T0_SEC - 9) })).toEqual([2, 3, 5, 6, 8, 9, 11, 12]);
    expect(await got({ updated_until: iso(T0_SEC - 9) })).toEqual([1, 4, 7, 10]);
    expect(await got({ updated_since: iso(T0_SEC - 9), updated_until: iso(T0_SEC - 8), sort_by: 'update_time', sort_direction: 'desc' })).toEqual([11, 8, 5, 2]);
    expect(await got({ ids: '3,1,99' })).toEqual([1, 3]);
    expect(await got({ owner_id: 2, org_id: 7 })).toEqual([2, 4]);
    const deal = sim.store.deals.create({ title: 'd', person_id: 5 });
    expect(await got({ deal_id: deal.id })).toEqual([5]);
    expect((await api.get('/api/v2/persons', { ids: Array.from({ length: 101 }, (_, i) => i + 1).join(',') })).status).toBe(400);
    expect((await api.get('/api/v2/persons', { updated_since: 'yesterday' })).status).toBe(400);
    expect((await api.get('/api/v2/persons', { sort_by: 'name' })).status).toBe(400);
  });

  it('rejects a cursor of another sort and limits above 500', async () => {
    const first = await api.get<Page>('/api/v2/persons', { limit: 2 });
    const mixed = await api.get<ErrorBody>('/api/v2/persons', { sort_by: 'add_time', cursor: first.body.additional_data.next_cursor! });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error).toMatch(/cursor/);
    expect((await api.get('/api/v2/persons', { limit: 501 })).status).toBe(400);
  });
});

describe('persons CRUD, soft delete and purge', () => {
  it('creates with defaults: first/last name split, one primary email, times from the clock', async () => {
    const r = await api.post<One>('/api/v2/persons', {
      name: 'Ada King Lovelace', emails: [{ value: 'a@x.io', label: 'home' }, { value: 'b@x.io', primary: true }], phones: [{ value: '+1 2' }],
      label_ids: [2], visible_to: 7,
    });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      id: 1, name: 'Ada King Lovelace', first_name: 'Ada', last_name: 'King Lovelace', owner_id: 1, org_id: null, is_deleted: false,
      add_time: iso(T0_SEC), update_time: iso(T0_SEC), visible_to: 7, label_ids: [2], custom_fields: {},
      emails: [{ value: 'a@x.io', primary: false, label: 'home' }, { value: 'b@x.io', primary: true, label: 'work' }],
      phones: [{ value: '+1 2', primary: true, label: 'work' }],
    });
  });

  it('validates the body, naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /name/], [{ name: ' ' }, /name/], [{ name: 'x', org_id: '1' }, /org_id/], [{ name: 'x', emails: 'a@x.io' }, /emails/],
      [{ name: 'x', visible_to: 2 }, /visible_to/], [{ name: 'x', custom_fields: { ['a'.repeat(40)]: 1 } }, /custom_fields/],
    ];
    for (const [body, field] of cases) {
      const r = await api.post<ErrorBody>('/api/v2/persons', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body).toMatchObject({ success: false, error: expect.stringMatching(field) });
    }
    expect(sim.store.persons.table.size).toBe(0);
  });

  it('PATCH changes only given fields, moves update_time, bumps the version and journals field changes', async () => {
    const { body } = await api.post<One>('/api/v2/persons', { name: 'Grace Hopper', org_id: 3 });
    sim.clock.advance(2500);
    const r = await api.patch<One>(`/api/v2/persons/${body.data.id}`, { name: 'Grace B Hopper', org_id: null });
    expect(r.body.data).toMatchObject({ name: 'Grace B Hopper', first_name: 'Grace', last_name: 'B Hopper', org_id: null, update_time: iso(T0_SEC + 2), add_time: iso(T0_SEC) });
    expect(sim.store.persons.getRow(body.data.id)?.version).toBe(2);
    const events = sim.store.journal.of('person', body.data.id);
    expect(events.map((e) => e.action)).toEqual(['add', 'update']);
    expect(events[1]!.changes).toEqual([
      { field: 'name', oldValue: 'Grace Hopper', newValue: 'Grace B Hopper' },
      { field: 'last_name', oldValue: 'Hopper', newValue: 'B Hopper' },
      { field: 'org_id', oldValue: 3, newValue: null },
    ]);
    expect(events[1]!.timeMs).toBe(T0_SEC * 1000 + 2500);
  });

  it('DELETE soft-deletes: hidden from lists, readable by id until purged 30 days later; writes to it are 404', async () => {
    await api.post('/api/v2/persons', { name: 'A' });
    await api.post('/api/v2/persons', { name: 'B' });
    sim.clock.advance(3000);
    expect((await api.del<One>('/api/v2/persons/1')).body).toEqual({ success: true, data: { id: 1 } });
    expect(ids((await walk(api, '/api/v2/persons')).rows)).toEqual([2]);
    expect(ids((await walk(api, '/api/v2/persons', { ids: '1,2' })).rows)).toEqual([2]);
    const got = await api.get<One>('/api/v2/persons/1');
    expect(got.body.data).toMatchObject({ id: 1, is_deleted: true, update_time: iso(T0_SEC + 3) });
    expect(sim.store.journal.of('person', 1).at(-1)).toMatchObject({ action: 'delete', changes: [{ field: 'is_deleted', oldValue: false, newValue: true }] });
    expect((await api.patch('/api/v2/persons/1', { name: 'back' })).status).toBe(404);
    expect((await api.del('/api/v2/persons/1')).status).toBe(404);

    sim.clock.advance(30 * DAY_MS - 1);
    expect((await api.get('/api/v2/persons/1')).status).toBe(200);
    sim.clock.advance(1);
    expect((await api.get<ErrorBody>('/api/v2/persons/1')).body).toMatchObject({ success: false, error: 'Entity was not found' });
    expect(sim.store.persons.table.size).toBe(1);
  });

  it('unknown and malformed ids', async () => {
    expect((await api.get('/api/v2/persons/42')).status).toBe(404);
    expect((await api.patch('/api/v2/persons/42', { name: 'x' })).status).toBe(404);
    expect((await api.get('/api/v2/persons/abc')).status).toBe(400);
  });
});

describe('organizations', () => {
  it('round-trips the address object; PATCH address: null clears it; soft delete and purge', async () => {
    const created = await api.post<One>('/api/v2/organizations', { name: 'Acme', address: { value: '1 Main St, Tallinn', locality: 'Tallinn', country: 'Estonia' }, owner_id: 2 });
    expect(created.body.data).toMatchObject({
      id: 1, name: 'Acme', owner_id: 2, is_deleted: false, visible_to: 3, label_ids: [], custom_fields: {},
      address: { value: '1 Main St, Tallinn', country: 'Estonia', admin_area_level_1: null, admin_area_level_2: null, locality: 'Tallinn', sublocality: null, route: null, street_number: null, subpremise: null, postal_code: null },
    });
    expect(Object.keys(created.body.data['address'] as object)).toHaveLength(10);
    sim.clock.advance(1000);
    const cleared = await api.patch<One>('/api/v2/organizations/1', { address: null });
    expect(cleared.body.data).toMatchObject({ address: null, update_time: iso(T0_SEC + 1) });
    expect((await api.patch<ErrorBody>('/api/v2/organizations/1', { address: { value: 5 } })).status).toBe(400);
    expect((await api.post<ErrorBody>('/api/v2/organizations', { owner_id: 1 })).body.error).toMatch(/name/);

    await api.del('/api/v2/organizations/1');
    expect((await walk(api, '/api/v2/organizations', { updated_since: iso(T0_SEC) })).rows).toEqual([]);
    expect((await api.get<One>('/api/v2/organizations/1')).body.data).toMatchObject({ is_deleted: true });
    sim.clock.advance(31 * DAY_MS);
    expect((await api.get('/api/v2/organizations/1')).status).toBe(404);
  });

  it('lists by update_time with updated_since, and filters by owner', async () => {
    for (let i = 0; i < 6; i++) sim.store.organizations.insertAt(T0_SEC - 50, T0_SEC - 5 + i, { name: `O${i}`, owner_id: (i % 3) + 1 });
    const since = await walk(api, '/api/v2/organizations', { sort_by: 'update_time', updated_since: iso(T0_SEC - 2), limit: 2 });
    expect(ids(since.rows)).toEqual([4, 5, 6]);
    expect(since.pages).toBe(2);
    expect(ids((await walk(api, '/api/v2/organizations', { owner_id: 3 })).rows)).toEqual([3, 6]);
  });
});
