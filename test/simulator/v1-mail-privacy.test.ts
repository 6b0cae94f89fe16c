import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen } from './helpers.ts';
import { v1Client, walkOffset, type Json, type OffsetBody, type V1Client } from './v1-helpers.ts';

const ALICE = { token: 'a1'.repeat(20), userId: 2, admin: false };
const BOB = { token: 'b2'.repeat(20), userId: 3, admin: false };
const ADMIN2 = { token: 'c3'.repeat(20), userId: 4, admin: true };
let sim: Simulator;
let admin: V1Client;

beforeAll(async () => {
  sim = await startFrozen({ deals: 300, tokens: [ALICE, BOB, ADMIN2] });
  admin = v1Client(sim);
});
afterAll(async () => {
  await sim.close();
});

interface MailItem { object: string; data: Json }

/** A deal with mail from at least two users' mailboxes (the generator makes some). */
function sharedDeal(): number {
  const owners = new Map<number, Set<number>>();
  for (const m of sim.store.v1.mail.messages.all()) {
    const d = m.data.deal_id!;
    owners.set(d, (owners.get(d) ?? new Set()).add(m.data.user_id));
  }
  const found = [...owners].find(([, users]) => users.has(ALICE.userId) && users.size > 1);
  if (found) return found[0];
  // Make one: give a message of another user to a deal that has Alice's mail.
  const alices = sim.store.v1.mail.messages.all().find((m) => m.data.user_id === ALICE.userId)!;
  const other = sim.store.v1.mail.messages.all().find((m) => m.data.user_id !== ALICE.userId)!;
  other.data = { ...other.data, deal_id: alices.data.deal_id };
  return alices.data.deal_id!;
}

describe('mail privacy with several tokens', () => {
  it('an admin sees every user’s messages on a deal; a non-admin only its own', async () => {
    const deal = sharedDeal();
    const all = sim.store.v1.mail.messages.all().filter((m) => m.data.deal_id === deal);
    const asAdmin = (await walkOffset<MailItem>(admin, `/deals/${deal}/mailMessages`, { limit: 1 })).items;
    expect(asAdmin.map((i) => i.data['id']).sort()).toEqual(all.map((m) => m.id).sort());
    const asAlice = (await walkOffset<MailItem>(v1Client(sim, ALICE.token), `/deals/${deal}/mailMessages`)).items;
    expect(asAlice.length).toBeGreaterThan(0);
    expect(asAlice.length).toBeLessThan(asAdmin.length);
    expect(asAlice.every((i) => i.object === 'mailMessage' && i.data['user_id'] === ALICE.userId)).toBe(true);
    const asOtherAdmin = (await v1Client(sim, ADMIN2.token).get<OffsetBody>(`/deals/${deal}/mailMessages`, { limit: 500 })).body.data;
    expect(asOtherAdmin.length).toBe(asAdmin.length);
    // The flow hides the same messages.
    const flow = (await v1Client(sim, ALICE.token).get<{ data: MailItem[] }>(`/deals/${deal}/flow`, { items: 'mailMessage' })).body.data;
    expect(flow.map((i) => i.data['id']).sort()).toEqual(asAlice.map((i) => i.data['id']).sort());
  });

  it('a single message of another user is as absent as a missing one', async () => {
    const bobs = sim.store.v1.mail.messages.all().find((m) => m.data.user_id === BOB.userId)!;
    expect((await v1Client(sim, ALICE.token).get(`/mailbox/mailMessages/${bobs.id}`)).status).toBe(404);
    expect((await v1Client(sim, BOB.token).get<{ data: Json }>(`/mailbox/mailMessages/${bobs.id}`)).body.data).toMatchObject({ id: bobs.id, user_id: BOB.userId });
    expect((await admin.get(`/mailbox/mailMessages/${bobs.id}`)).status).toBe(200);
    expect((await admin.get('/mailbox/mailMessages/999999')).status).toBe(404);
  });

  it('every token works on v1 and v2; writes are attributed to the token’s user; unknown tokens get 401', async () => {
    const alice = v1Client(sim, ALICE.token);
    const note = await alice.post<{ data: Json }>('/notes', { content: 'mine', deal_id: 1 });
    expect(note.body.data).toMatchObject({ user_id: ALICE.userId, last_update_user_id: ALICE.userId, user: expect.objectContaining({ is_you: true }) });
    expect(sim.store.journal.of('note', note.body.data['id'] as number)[0]!.userId).toBe(ALICE.userId);
    expect((await client(sim, BOB.token).get('/api/v2/deals', { limit: 1 })).status).toBe(200);
    expect((await v1Client(sim, 'nope').get('/users')).status).toBe(401);
    expect((await v1Client(sim, '').get('/users')).status).toBe(401);
  });

  it('call logs are per user too', async () => {
    const bobs = (await walkOffset(v1Client(sim, BOB.token), '/callLogs', { limit: 50 })).items;
    expect(bobs.every((c) => c['user_id'] === BOB.userId)).toBe(true);
    expect(bobs.length).toBe(sim.store.v1.callLogs.rows.all().filter((c) => c.data.user_id === BOB.userId).length);
  });
});
