import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { DEAL_FIELDS } from '../../src/simulator/store/index.ts';
import { client, startFrozen, T0_SEC, V2_TIME, type Client, type DataBody, type ErrorBody, type ListBody } from './helpers.ts';

const iso = (sec: number): string => new Date(sec * 1000).toISOString().replace('.000Z', 'Z');

let sim: Simulator;
let api: Client;

beforeEach(async () => {
  sim = await startFrozen();
  api = client(sim);
});
afterEach(async () => {
  await sim.close();
});

describe('POST /api/v2/deals', () => {
  it('requires a title', async () => {
    for (const body of [{}, { value: 5 }, { title: '' }, { title: '   ' }]) {
      const r = await api.post<ErrorBody>('/api/v2/deals', body);
      expect(r.status).toBe(400);
      expect(r.body).toEqual({
        success: false,
        error: 'Deal title must be given.',
        error_info: 'Please check developers.pipedrive.com for more information about Pipedrive API.',
        data: null,
        additional_data: null,
      });
    }
    expect(sim.store.deals.table.size).toBe(0);
  });

  it('creates a deal with defaults, ascending ids and whole-second times from the clock', async () => {
    sim.clock.advance(750); // T0 + 0.75 s → stored as T0
    const a = await api.post<DataBody>('/api/v2/deals', { title: 'First', value: 1200.5, currency: 'EUR', person_id: 7 });
    const b = await api.post<DataBody>('/api/v2/deals', { title: 'Second' });
    expect(a.status).toBe(200);
    expect(a.body.success).toBe(true);
    expect([a.body.data.id, b.body.data.id]).toEqual([1, 2]);
    expect(Object.keys(a.body.data)).toEqual(DEAL_FIELDS);
    expect(a.body.data).toMatchObject({
      title: 'First', value: 1200.5, currency: 'EUR', person_id: 7, org_id: null, status: 'open',
      is_deleted: false, is_archived: false, pipeline_id: 1, stage_id: 1, origin: 'API', label_ids: [],
      add_time: iso(T0_SEC), update_time: iso(T0_SEC), won_time: null, custom_fields: {},
    });
  });

  it('rejects wrongly typed fields, naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ title: 'x', value: '12' }, /value/],
      [{ title: 'x', owner_id: 1.5 }, /owner_id/],
      [{ title: 'x', status: 'deleted' }, /status/],
      [{ title: 'x', expected_close_date: '2026-13-45' }, /expected_close_date/],
      [{ title: 'x', probability: 140 }, /probability/],
      [{ title: 'x', label_ids: [1, 'a'] }, /label_ids/],
      [{ title: 'x', visible_to: 2 }, /visible_to/],
    ];
    for (const [body, field] of cases) {
      const r = await api.post<ErrorBody>('/api/v2/deals', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatch(field);
    }
  });

  it('answers a malformed JSON body with a 400 JSON error', async () => {
    const res = await fetch(`${sim.baseUrl}/api/v2/deals`, {
      method: 'POST',
      headers: { 'x-api-token': sim.token, 'content-type': 'application/json' },
      body: '{"title": ',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ success: false });
  });
});

describe('GET/PATCH/DELETE /api/v2/deals/{id}', () => {
  it('PATCH changes fields, moves update_time to the clock second, bumps the version', async () => {
    const { body } = await api.post<DataBody>('/api/v2/deals', { title: 'x', value: 10 });
    sim.clock.advance(2_400);
    const r = await api.patch<DataBody>(`/api/v2/deals/${body.data.id}`, { value: 99, title: 'y' });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({ title: 'y', value: 99, add_time: iso(T0_SEC), update_time: iso(T0_SEC + 2) });
    expect(r.body.data.update_time).toMatch(V2_TIME);
    expect(sim.store.deals.getRow(body.data.id)?.version).toBe(2);
    const got = await api.get<DataBody>(`/api/v2/deals/${body.data.id}`);
    expect(got.body.data).toEqual(r.body.data);
  });

  it('derives status times and stage moves', async () => {
    const { body } = await api.post<DataBody>('/api/v2/deals', { title: 'x' });
    const id = body.data.id;
    sim.clock.advance(1000);
    const won = await api.patch<DataBody>(`/api/v2/deals/${id}`, { status: 'won', stage_id: 7 });
    expect(won.body.data).toMatchObject({
      status: 'won', won_time: iso(T0_SEC + 1), close_time: iso(T0_SEC + 1), lost_time: null,
      local_won_date: '2026-01-15', stage_id: 7, pipeline_id: 2, stage_change_time: iso(T0_SEC + 1),
    });
    sim.clock.advance(1000);
    const lost = await api.patch<DataBody>(`/api/v2/deals/${id}`, { status: 'lost', lost_reason: 'Price' });
    expect(lost.body.data).toMatchObject({ status: 'lost', won_time: null, lost_time: iso(T0_SEC + 2), lost_reason: 'Price' });
    const reopened = await api.patch<DataBody>(`/api/v2/deals/${id}`, { status: 'open' });
    expect(reopened.body.data).toMatchObject({ status: 'open', close_time: null, lost_time: null, lost_reason: null });
  });

  it('unknown or invalid ids answer JSON errors', async () => {
    for (const [method, path] of [['GET', '/api/v2/deals/999'], ['PATCH', '/api/v2/deals/999'], ['DELETE', '/api/v2/deals/999']] as const) {
      const r = method === 'GET' ? await api.get<ErrorBody>(path) : method === 'PATCH' ? await api.patch<ErrorBody>(path, { title: 'z' }) : await api.del<ErrorBody>(path);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body).toEqual({ success: false, error: 'Entity was not found', error_info: 'Object was not found.', data: null, additional_data: null });
    }
    expect((await api.get('/api/v2/deals/abc')).status).toBe(400);
  });

  it('DELETE soft-deletes: {success, data:{id}}, visible with status=deleted for 30 days, then purged', async () => {
    const { body } = await api.post<DataBody>('/api/v2/deals', { title: 'doomed', status: 'won' });
    const id = body.data.id;
    sim.clock.advance(5_000);
    const del = await api.del<DataBody<{ id: number }>>(`/api/v2/deals/${id}`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ success: true, data: { id } });

    expect((await api.get<ListBody>('/api/v2/deals')).body.data).toEqual([]);
    const listed = await api.get<ListBody>('/api/v2/deals', { status: 'deleted', updated_since: iso(T0_SEC + 5) });
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0]).toMatchObject({ id, is_deleted: true, status: 'deleted', update_time: iso(T0_SEC + 5) });
    const single = await api.get<DataBody>(`/api/v2/deals/${id}`);
    expect(single.body.data).toMatchObject({ id, is_deleted: true });

    expect((await api.del(`/api/v2/deals/${id}`)).status).toBe(404);
    expect((await api.patch(`/api/v2/deals/${id}`, { title: 'back?' })).status).toBe(404);

    sim.clock.advance(30 * 24 * 3600 * 1000 - 1000);
    expect((await api.get<ListBody>('/api/v2/deals', { status: 'deleted' })).body.data).toHaveLength(1);
    sim.clock.advance(1000);
    expect((await api.get<ListBody>('/api/v2/deals', { status: 'deleted' })).body.data).toEqual([]);
    expect((await api.get(`/api/v2/deals/${id}`)).status).toBe(404);
  });

  it('PATCH is_deleted: true deletes; is_archived hides the deal from list and get', async () => {
    await api.post('/api/v2/deals', { title: 'a' });
    await api.post('/api/v2/deals', { title: 'b' });
    const r = await api.patch<DataBody>('/api/v2/deals/1', { is_deleted: true });
    expect(r.body.data).toMatchObject({ is_deleted: true, status: 'deleted' });
    const arch = await api.patch<DataBody>('/api/v2/deals/2', { is_archived: true });
    expect(arch.body.data).toMatchObject({ is_archived: true, archive_time: iso(T0_SEC) });
    expect((await api.get<ListBody>('/api/v2/deals')).body.data).toEqual([]);
    expect((await api.get('/api/v2/deals/2')).status).toBe(404);
  });

  it('include_fields adds requested fields (source_lead_id only on request); custom_fields restricts keys', async () => {
    const key = 'a'.repeat(40);
    await api.post('/api/v2/deals', { title: 'x', custom_fields: { [key]: 5, ['b'.repeat(40)]: 'z' } });
    const plain = await api.get<DataBody>('/api/v2/deals/1');
    expect(plain.body.data).not.toHaveProperty('source_lead_id');
    const rich = await api.get<DataBody>('/api/v2/deals/1', { include_fields: 'source_lead_id,notes_count', custom_fields: key });
    expect(rich.body.data).toMatchObject({ source_lead_id: null, notes_count: 0, custom_fields: { [key]: 5 } });
    const lead = '35b0d604-eb0d-42d0-be11-eac8832051f0';
    sim.store.deals.update(1, { source_lead_id: lead });
    const converted = await api.get<ListBody>('/api/v2/deals', { include_fields: 'source_lead_id' });
    expect(converted.body.data[0]).toMatchObject({ id: 1, source_lead_id: lead });
    expect((await api.get('/api/v2/deals/1', { include_fields: 'nonsense' })).status).toBe(400);
  });
});

describe('archived deals (since 2025-07-15 outside the default lists)', () => {
  it('leave GET /api/v2/deals and GET /api/v2/deals/{id}, and are listed by GET /api/v2/deals/archived', async () => {
    const kept = await api.post<DataBody>('/api/v2/deals', { title: 'Kept' });
    const gone = await api.post<DataBody>('/api/v2/deals', { title: 'Archived' });
    sim.clock.advance(2000);
    const patched = await api.patch<DataBody>(`/api/v2/deals/${gone.body.data.id}`, { is_archived: true });
    expect(patched.body.data).toMatchObject({ is_archived: true, archive_time: iso(T0_SEC + 2), update_time: iso(T0_SEC + 2) });

    const live = await api.get<ListBody>('/api/v2/deals');
    expect(live.body.data.map((d) => d.id)).toEqual([kept.body.data.id]);
    expect((await api.get<ErrorBody>(`/api/v2/deals/${gone.body.data.id}`)).status).toBe(404);
    const archived = await api.get<ListBody>('/api/v2/deals/archived', { updated_since: iso(T0_SEC + 1), sort_by: 'update_time' });
    expect(archived.body.data.map((d) => [d.id, d.is_archived])).toEqual([[gone.body.data.id, true]]);

    // Unarchived, it is back in the default list with a new update time.
    sim.clock.advance(1000);
    await api.patch(`/api/v2/deals/${gone.body.data.id}`, { is_archived: false });
    expect((await api.get<ListBody>('/api/v2/deals')).body.data.map((d) => d.id)).toEqual([kept.body.data.id, gone.body.data.id]);
    expect((await api.get<ListBody>('/api/v2/deals/archived')).body.data).toEqual([]);
  });
});
