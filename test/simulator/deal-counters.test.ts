import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAL_COUNTER_FIELDS } from '../../src/catalog/tables/shared.ts';
import { formatV2 } from '../../src/simulator/time.ts';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, type Client, type DataBody, type ListBody } from './helpers.ts';
import { v1Client, type V1Client } from './v1-helpers.ts';

/**
 * The deal counters of v2 include_fields are true: they move when a note, file, mail, activity,
 * participant, follower or product of the deal is added or removed, and the deal's own update_time does
 * not (participants and followers excepted, see store/deal-people.ts). The expected values are counted
 * here from the test's own writes, not from the counter code.
 */
let sim: Simulator;
let v2: Client;
let v1: V1Client;
const include = { include_fields: DEAL_COUNTER_FIELDS.join(',') };

beforeAll(async () => {
  sim = await startFrozen({ deals: 40 });
  v2 = client(sim);
  v1 = v1Client(sim);
});
afterAll(async () => {
  await sim.close();
});

async function dealNow(id: number): Promise<Record<string, unknown>> {
  const r = await v2.get<DataBody>(`/api/v2/deals/${id}`, include);
  expect(r.status).toBe(200);
  return r.body.data;
}

describe('deal counters', () => {
  it('a fresh deal counts nothing; every write of something of the deal moves its counter', async () => {
    const created = await v2.post<DataBody>('/api/v2/deals', { title: 'Counted' });
    const id = created.body.data.id;
    const zero = await dealNow(id);
    for (const f of DEAL_COUNTER_FIELDS.filter((f) => f.endsWith('_count'))) expect(zero[f], f).toBe(0);
    expect(zero['last_incoming_mail_time']).toBeNull();
    const updateTime = zero['update_time'];

    sim.clock.advance(5_000);
    const note = await v1.post<{ data: { id: number } }>('/notes', { content: 'n1', deal_id: id });
    await v1.post('/notes', { content: 'n2', deal_id: id });
    let d = await dealNow(id);
    expect(d['notes_count']).toBe(2);
    expect(d['update_time'], 'a note does not touch the deal').toBe(updateTime);
    await v1.del(`/notes/${note.body.data.id}`);
    expect((await dealNow(id))['notes_count']).toBe(1);

    await v2.post('/api/v2/activities', { subject: 'Call', deal_id: id });
    await v2.post('/api/v2/activities', { subject: 'Done call', deal_id: id, done: true });
    d = await dealNow(id);
    expect([d['activities_count'], d['done_activities_count'], d['undone_activities_count']]).toEqual([2, 1, 1]);

    sim.clock.advance(5_000);
    const incoming = sim.store.v1.mail.addMessage({
      deal_id: id, user_id: 1, subject: 'Hello', snippet: 'hi', from: { email_address: 'c@x.example', name: 'C', linked_person_id: null },
      to: [], cc: [], sent: false, read: false, has_attachments: false, deleted: false,
    });
    d = await dealNow(id);
    expect(d['email_messages_count']).toBe(1);
    expect(d['last_incoming_mail_time']).toBe(formatV2(sim.clock.nowSeconds()));
    expect(d['last_outgoing_mail_time']).toBeNull();
    expect(d['update_time'], 'a mail does not touch the deal').toBe(updateTime);
    sim.store.v1.mail.removeMessage(incoming.id, 1);
    expect((await dealNow(id))['email_messages_count']).toBe(0);

    await v1.post(`/deals/${id}/participants`, { person_id: 1 });
    await v2.post(`/api/v2/deals/${id}/followers`, { user_id: 2 });
    d = await dealNow(id);
    expect([d['participants_count'], d['followers_count']]).toEqual([1, 1]);

    const product = sim.store.products.all().find((r) => r.deletedAtMs === null && r.data.is_linkable)!;
    await v2.post(`/api/v2/deals/${id}/products`, { product_id: product.id, item_price: 10, quantity: 1 });
    expect((await dealNow(id))['products_count']).toBe(1);
  });

  it('the list returns the same counters as the single read, at the list price', async () => {
    const withMail = sim.store.v1.mail.messages.all().find((m) => m.deletedAtMs === null)!.data.deal_id!;
    const expectedMails = sim.store.v1.mail.messages.all().filter((m) => m.deletedAtMs === null && m.data.deal_id === withMail).length;
    const before = sim.rateLimit.stats().tokensSpentTotal;
    const page = await v2.get<ListBody>('/api/v2/deals', { ...include, ids: String(withMail) });
    expect(sim.rateLimit.stats().tokensSpentTotal - before, 'include_fields cost nothing extra').toBe(10);
    expect(page.body.data[0]!['email_messages_count']).toBe(expectedMails);
    expect((await dealNow(withMail))['email_messages_count']).toBe(expectedMails);
  });
});
