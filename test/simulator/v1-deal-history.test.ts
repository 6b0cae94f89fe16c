import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, T0_SEC } from './helpers.ts';
import { v1Client, v1Time, walkCursor, walkOffset, type Json, type V1Client } from './v1-helpers.ts';

interface FlowItem { object: string; timestamp: string; data: Json }
let sim: Simulator;
let api: V1Client;
let deal: number;

beforeEach(async () => {
  sim = await startFrozen({ deals: 50 });
  api = v1Client(sim);
  deal = (await client(sim).post<{ data: { id: number } }>('/api/v2/deals', { title: 'History', value: 100, currency: 'EUR' })).body.data.id;
});
afterEach(async () => {
  await sim.close();
});

const flow = async (query: Record<string, string | number> = {}) => (await api.get<{ data: FlowItem[]; related_objects: Json }>(`/deals/${deal}/flow`, query)).body;
const changes = (items: FlowItem[]) => items.filter((i) => i.object === 'dealChange').map((i) => [i.data['field_key'], i.data['old_value'], i.data['new_value']]);

describe('GET /v1/deals/{id}/flow', () => {
  it('lists a dealChange for every field change, newest first, with v1 keys and values', async () => {
    expect(changes((await flow()).data)).toEqual([]); // creation is not a change
    sim.clock.advance(1000);
    await client(sim).patch(`/api/v2/deals/${deal}`, { title: 'History 2', value: 250 });
    sim.clock.advance(1000);
    await client(sim).patch(`/api/v2/deals/${deal}`, { status: 'won', owner_id: 3, label_ids: [1, 2] });
    const body = await flow();
    const all = changes(body.data);
    // Newest event first; within one event, the deal's field order.
    expect(all.slice(0, 5)).toEqual(expect.arrayContaining([
      ['status', 'open', 'won'], ['won_time', null, v1Time(T0_SEC + 2)], ['close_time', null, v1Time(T0_SEC + 2)], ['user_id', 1, 3], ['label', null, '1,2'],
    ]));
    expect(all.slice(5)).toEqual([['title', 'History', 'History 2'], ['value', 100, 250]]);
    const first = body.data[0]!;
    expect(first).toMatchObject({ object: 'dealChange', timestamp: v1Time(T0_SEC + 2) });
    expect(first.data).toMatchObject({ item_id: deal, user_id: 1, log_time: v1Time(T0_SEC + 2), change_source: 'api' });
    expect(body.related_objects).toMatchObject({ deal: { [deal]: { id: deal, title: 'History 2', status: 'won' } }, user: { 1: { id: 1 } } });
  });

  it('shows custom field changes only with all_changes=1; soft delete shows as status/deleted changes', async () => {
    const field = sim.store.fields.custom('deal').find((f) => f.field_type === 'varchar')!;
    sim.clock.advance(1000);
    await client(sim).patch(`/api/v2/deals/${deal}`, { custom_fields: { [field.key]: 'North' } });
    expect(changes((await flow()).data)).toEqual([]);
    expect(changes((await flow({ all_changes: 1 })).data)).toEqual([[field.key, null, 'North']]);
    sim.clock.advance(1000);
    await client(sim).del(`/api/v2/deals/${deal}`);
    expect(changes((await flow()).data)).toEqual([['status', 'open', 'deleted'], ['deleted', false, true]]);
    expect((await api.get('/deals/999999/flow')).status).toBe(404);
  });

  it('includes the deal’s notes, files and mail; filters by items; pages', async () => {
    await api.post('/notes', { content: 'call notes', deal_id: deal });
    sim.clock.advance(1000);
    await api.post('/files', { file_name: 'deck.pdf', deal_id: deal });
    sim.clock.advance(1000);
    await client(sim).patch(`/api/v2/deals/${deal}`, { value: 1 });
    const all = (await flow()).data;
    expect(all.map((i) => i.object)).toEqual(['dealChange', 'file', 'note']);
    expect((await flow({ items: 'note,file' })).data.map((i) => i.object)).toEqual(['file', 'note']);
    const paged = await walkOffset<FlowItem>(api, `/deals/${deal}/flow`, { limit: 1 });
    expect(paged.items.map((i) => i.object)).toEqual(['dealChange', 'file', 'note']);
    const mailDeal = sim.store.v1.mail.messages.all()[0]!.data.deal_id!;
    const mail = (await api.get<{ data: FlowItem[] }>(`/deals/${mailDeal}/flow`, { items: 'mailMessage' })).body.data;
    expect(mail.length).toBe(sim.store.v1.mail.messages.all().filter((m) => m.data.deal_id === mailDeal).length);
  });
});

describe('generated deals have a past', () => {
  it('a won or lost deal lists its close in its flow, a deal with a stage_change_time its stage change, both agreeing with the deal', async () => {
    const seeded = sim.store.deals.table.all().filter((r) => r.id !== deal);
    const closed = seeded.find((r) => r.data.status !== 'open')!;
    const closeFlow = (await api.get<{ data: FlowItem[] }>(`/deals/${closed.id}/flow`)).body.data.filter((i) => i.object === 'dealChange');
    expect(closeFlow.map((i) => [i.data['field_key'], i.data['new_value']])).toContainEqual(['status', closed.data.status]);
    expect(closeFlow.find((i) => i.data['field_key'] === 'status')!.data['log_time']).toBe(v1Time(Math.floor(Date.parse(closed.data.close_time!) / 1000)));
    const moved = seeded.find((r) => r.data.stage_change_time !== null)!;
    const log = (await api.get<{ data: Json[] }>(`/deals/${moved.id}/changelog`)).body.data;
    const stage = log.find((c) => c['field_key'] === 'stage_id')!;
    expect(String(stage['new_value'])).toBe(String(moved.data.stage_id));
    expect(stage['old_value']).not.toEqual(stage['new_value']);
    // Nothing in a generated deal's past is later than its update time.
    for (const r of seeded) for (const e of sim.store.journal.of('deal', r.id)) expect(e.timeMs).toBeLessThanOrEqual(r.updateSec * 1000);
  });
});

describe('GET /v1/deals/{id}/changelog', () => {
  it('lists field changes newest first as strings, cursor-paged', async () => {
    for (const [i, title] of ['B', 'C', 'D'].entries()) {
      sim.clock.advance(1000);
      await client(sim).patch(`/api/v2/deals/${deal}`, { title, value: 100 + i + 1 });
    }
    const first = await api.get<{ data: Json[]; additional_data: { next_cursor: string | null } }>(`/deals/${deal}/changelog`);
    expect(first.body.data.slice(0, 2)).toEqual([
      { field_key: 'title', old_value: 'C', new_value: 'D', actor_user_id: 1, time: v1Time(T0_SEC + 3), change_source: 'api', change_source_user_agent: null, is_bulk_update_flag: false },
      { field_key: 'value', old_value: '102', new_value: '103', actor_user_id: 1, time: v1Time(T0_SEC + 3), change_source: 'api', change_source_user_agent: null, is_bulk_update_flag: false },
    ]);
    expect(first.body.data).toHaveLength(6);
    expect(first.body.additional_data.next_cursor).toBeNull();
    const walked = await walkCursor(api, `/deals/${deal}/changelog`, { limit: 1 });
    expect(walked.items).toEqual(first.body.data);
    expect(walked.pages).toBe(6);
    // A change between pages does not disturb the walk (new entries land before the cursor).
    const page1 = await api.get<{ data: Json[]; additional_data: { next_cursor: string } }>(`/deals/${deal}/changelog`, { limit: 2 });
    await client(sim).patch(`/api/v2/deals/${deal}`, { title: 'E' });
    const page2 = await api.get<{ data: Json[] }>(`/deals/${deal}/changelog`, { limit: 2, cursor: page1.body.additional_data.next_cursor });
    expect(page2.body.data).toEqual(first.body.data.slice(2, 4));
    expect((await api.get(`/deals/${deal}/changelog`, { cursor: 'bad' })).status).toBe(400);
    expect((await api.get(`/deals/${deal}/changelog`, { limit: 501 })).status).toBe(400);
  });
});
