import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, T0_SEC, type Client, type ErrorBody } from './helpers.ts';
import { ids, iso, walk, type One, type Page } from './v2-helpers.ts';

let sim: Simulator;
let api: Client;

beforeEach(async () => {
  sim = await startFrozen();
  api = client(sim);
});
afterEach(async () => {
  await sim.close();
});

describe('activities', () => {
  it('creates with participants from person_id, normalizes times, and returns attendees only on request', async () => {
    const r = await api.post<One>('/api/v2/activities', {
      subject: 'Demo', type: 'meeting', deal_id: 4, person_id: 9, org_id: 2, due_date: '2026-01-20', due_time: '14:30',
      duration: '01:00', busy: true, location: { value: 'HQ' }, attendees: [{ email: 'x@y.io', is_organizer: true }],
      public_description: 'Agenda', priority: 2, note: 'bring slides',
    });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      id: 1, subject: 'Demo', type: 'meeting', owner_id: 1, creator_user_id: 1, deal_id: 4, person_id: 9, org_id: 2,
      due_date: '2026-01-20', due_time: '14:30:00', duration: '01:00:00', busy: true, done: false, marked_as_done_time: null,
      participants: [{ person_id: 9, primary: true }], location: { value: 'HQ', country: null }, public_description: 'Agenda',
      priority: 2, note: 'bring slides', is_deleted: false, add_time: iso(T0_SEC), custom_fields: {},
    });
    expect(r.body.data).not.toHaveProperty('attendees');
    const withAttendees = await api.get<One>('/api/v2/activities/1', { include_fields: 'attendees' });
    expect(withAttendees.body.data['attendees']).toEqual([{ email: 'x@y.io', name: null, status: null, is_organizer: true, person_id: null, user_id: null }]);
    expect((await api.get('/api/v2/activities/1', { include_fields: 'nonsense' })).status).toBe(400);
  });

  it('participants decide the primary person; done sets marked_as_done_time, undone clears it', async () => {
    await api.post('/api/v2/activities', { subject: 'Call', person_id: 3 });
    sim.clock.advance(5000);
    const moved = await api.patch<One>('/api/v2/activities/1', { participants: [{ person_id: 4 }, { person_id: 5, primary: true }] });
    expect(moved.body.data).toMatchObject({ person_id: 5, participants: [{ person_id: 4, primary: false }, { person_id: 5, primary: true }] });
    const done = await api.patch<One>('/api/v2/activities/1', { done: true });
    expect(done.body.data).toMatchObject({ done: true, marked_as_done_time: iso(T0_SEC + 5), update_time: iso(T0_SEC + 5) });
    sim.clock.advance(1000);
    expect((await api.patch<One>('/api/v2/activities/1', { note: 'x' })).body.data['marked_as_done_time']).toBe(iso(T0_SEC + 5));
    expect((await api.patch<One>('/api/v2/activities/1', { done: false })).body.data).toMatchObject({ done: false, marked_as_done_time: null });
    const alone = await api.patch<One>('/api/v2/activities/1', { person_id: 8 });
    expect(alone.body.data).toMatchObject({ person_id: 8, participants: [{ person_id: 8, primary: true }] });
    expect((await api.patch<One>('/api/v2/activities/1', { person_id: null })).body.data).toMatchObject({ person_id: null, participants: [] });
    const changes = sim.store.journal.of('activity', 1).map((e) => e.changes.map((c) => c.field));
    expect(changes[1]).toEqual(['person_id', 'participants']);
    expect(changes[2]).toEqual(['done', 'marked_as_done_time']);
  });

  it('sorts by due_date (nulls first) with cursors across ties, both directions', async () => {
    const due = ['2026-02-01', null, '2026-01-20', '2026-02-01', '2026-01-20', null, '2026-03-01'];
    for (const d of due) sim.store.activities.create({ subject: 's', due_date: d });
    const asc = [2, 6, 3, 5, 1, 4, 7];
    for (const limit of [1, 2, 3, 100]) {
      expect(ids((await walk(api, '/api/v2/activities', { sort_by: 'due_date', limit })).rows), `asc ${limit}`).toEqual(asc);
      expect(ids((await walk(api, '/api/v2/activities', { sort_by: 'due_date', sort_direction: 'desc', limit })).rows), `desc ${limit}`).toEqual([...asc].reverse());
    }
    const first = await api.get<Page>('/api/v2/activities', { sort_by: 'due_date', limit: 3 });
    const cursor = JSON.parse(Buffer.from(first.body.additional_data.next_cursor!, 'base64url').toString()) as unknown;
    expect(cursor).toEqual({ field: 'due_date', fieldValue: '2026-01-20', sortDirection: 'asc', id: 5 });
    // A later write does not disturb a walk already under way: the index is rebuilt, the position stays.
    await api.patch('/api/v2/activities/7', { due_date: '2025-01-01' });
    const rest = await walk(api, '/api/v2/activities', { sort_by: 'due_date', limit: 3, cursor: first.body.additional_data.next_cursor! });
    expect(ids(rest.rows)).toEqual([5, 1, 4]);
  });

  it('filters by owner, deal, person (primary participant), org, lead, done; updated_since applies', async () => {
    sim.store.activities.create({ subject: 'a', deal_id: 1, person_id: 10, participants: [{ person_id: 10, primary: true }], owner_id: 2 });
    sim.store.activities.create({ subject: 'b', deal_id: 1, org_id: 5, done: true, lead_id: 'abc' });
    sim.clock.advance(2000);
    sim.store.activities.create({ subject: 'c', deal_id: 2, participants: [{ person_id: 11, primary: true }, { person_id: 10, primary: false }] });
    const got = async (q: Record<string, string | number>) => ids((await walk(api, '/api/v2/activities', q)).rows);
    expect(await got({ deal_id: 1 })).toEqual([1, 2]);
    expect(await got({ person_id: 10 })).toEqual([1]);
    expect(await got({ owner_id: 2 })).toEqual([1]);
    expect(await got({ org_id: 5, done: 'true' })).toEqual([2]);
    expect(await got({ done: 'false' })).toEqual([1, 3]);
    expect(await got({ lead_id: 'abc' })).toEqual([2]);
    expect(await got({ updated_since: iso(T0_SEC + 1) })).toEqual([3]);
    expect((await api.get('/api/v2/activities', { done: 'maybe' })).status).toBe(400);
  });

  it('validates types and times; soft delete hides it from lists and keeps it readable', async () => {
    for (const [body, field] of [[{ due_time: '25:00' }, /due_time/], [{ participants: [{ person: 1 }] }, /participants/], [{ subject: '' }, /subject/], [{ busy: 'yes' }, /busy/]] as const) {
      const r = await api.post<ErrorBody>('/api/v2/activities', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatch(field);
    }
    const created = await api.post<One>('/api/v2/activities', { type: 'call' });
    expect(created.body.data['subject']).toBe('call');
    await api.del('/api/v2/activities/1');
    expect((await walk(api, '/api/v2/activities')).rows).toEqual([]);
    expect((await api.get<One>('/api/v2/activities/1')).body.data).toMatchObject({ is_deleted: true });
  });
});
