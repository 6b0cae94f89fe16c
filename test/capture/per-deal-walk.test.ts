import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import type { ChangeBatch } from '../../src/capture/change.ts';
import type { EmitContext } from '../../src/capture/emit.ts';
import { KeyIndex, keyString } from '../../src/capture/key-index.ts';
import { initialOffset, type TableOffset } from '../../src/capture/offset.ts';
import { PER_DEAL_FULL_WALK_MS } from '../../src/capture/parent-memo.ts';
import { ReimportSource } from '../../src/capture/reimport-source.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { sharedWalkOf } from '../../src/pipedrive/shared-walk.ts';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';

const DAY = 24 * 3600 * 1000;

/**
 * Per-deal walks against the local Pipedrive: which deals get a per-deal call is read from the simulator's
 * own request log (its cost accounting), and what the tables publish is compared with its store.
 */
describe('per-deal walks', () => {
  let sim: Simulator;
  let client: PipedriveClient;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 5, deals: 300, clock: new SimClock({ start: new Date('2026-04-01T08:00:00Z'), frozen: true }) });
    client = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: 0 });
    // Re-imports keep the API's time: the client learns it from an answer before the first import starts.
    await client.getJson('/v1/users/me', {}, '/v1/users/me');
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  /** A table's re-import source with its key index, committing (and indexing) every batch it publishes. */
  function table(name: string) {
    const spec = tableByName(name);
    const indexes = new Map<string, KeyIndex>([[name, new KeyIndex(spec)], ...(spec.children ?? []).map((c) => [c.table, new KeyIndex(tableByName(c.table))] as const)]);
    const ctx: EmitContext = { spec, tableOf: tableByName, indexes };
    let offset: TableOffset = initialOffset;
    const source = new ReimportSource(ctx, client, offset);
    return {
      indexes,
      /** One import: every batch until the pass ends. */
      async pass(): Promise<ChangeBatch[]> {
        const batches: ChangeBatch[] = [];
        for (let b = await source.poll(); b; b = await source.poll()) {
          for (const ev of b.events) indexes.get(ev.table)?.apply(ev);
          source.committed(b);
          offset = b.offset;
          batches.push(b);
        }
        return batches;
      },
    };
  }

  /** The clock moves on; one request lets the client learn the API's new time (its re-imports run by it). */
  async function advance(ms: number): Promise<void> {
    sim.clock.advance(ms);
    await client.getJson('/v1/users/me', {}, '/v1/users/me');
  }

  /** Mail calls so far, by the simulator's cost accounting. */
  const mailCalls = () => sim.rateLimit.stats().byOperation['getDealMailMessages']?.requests ?? 0;
  const liveDealsWithMail = () => {
    const live = new Set(sim.store.deals.table.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived).map((r) => r.id));
    return new Set(sim.store.v1.mail.messages.all().filter((m) => m.deletedAtMs === null && live.has(m.data.deal_id!)).map((m) => m.data.deal_id!));
  };

  it('walks only deals with mail; one walk feeds messages and threads; unchanged deals are not walked again; a deal gaining a mail is', async () => {
    const messages = table('mail_message');
    const threads = table('mail_thread');
    const withMail = liveDealsWithMail();
    expect(withMail.size).toBeGreaterThan(5);
    expect(withMail.size).toBeLessThan(300 / 2);

    await messages.pass();
    await threads.pass();
    expect(mailCalls(), 'one call per deal with mail, shared by both tables').toBe(withMail.size);
    expect(sharedWalkOf(client).held, 'every shared answer was taken').toBe(0);
    const liveMessages = sim.store.v1.mail.messages.all().filter((m) => m.deletedAtMs === null && withMail.has(m.data.deal_id!));
    const spec = tableByName('mail_message');
    expect([...messages.indexes.get('mail_message')!.keys().keys()].sort()).toEqual(liveMessages.map((m) => keyString(spec, { id: m.id })).sort());

    // A day later nothing changed: the deal list is read, no deal's mail.
    await advance(DAY + 1000);
    const before = mailCalls();
    expect((await messages.pass()).flatMap((b) => b.events), 'nothing to publish').toEqual([]);
    await threads.pass();
    expect(mailCalls() - before, 'unchanged deals are not walked').toBe(0);
    expect(messages.indexes.get('mail_message')!.size, 'their rows are kept, not deleted').toBe(liveMessages.length);

    // One deal gains a mail, another (without any) gets its first: exactly those two are walked.
    const [old] = withMail;
    const fresh = sim.store.deals.table.all().find((r) => r.deletedAtMs === null && !r.data.is_archived && !withMail.has(r.id))!.id;
    const party = { email_address: 'c@x.example', name: 'C', linked_person_id: null };
    const added = [old!, fresh].map((deal_id) => sim.store.v1.mail.addMessage({ deal_id, user_id: 1, subject: 'New', snippet: 'n', from: party, to: [], cc: [], sent: false, read: false, has_attachments: false, deleted: false }));
    await advance(DAY + 1000);
    const published = (await messages.pass()).flatMap((b) => b.events).filter((e) => e.table === 'mail_message');
    await threads.pass();
    expect(mailCalls() - before, 'the two changed deals, once for both tables').toBe(2);
    expect(published.map((e) => `${e.op}:${String(e.key.id)}`).sort()).toEqual(added.map((m) => `c:${m.id}`).sort());

    // A removed message: the deal's count changes, its walk finds the message gone (a delete).
    sim.store.v1.mail.removeMessage(added[0]!.id, 1);
    await advance(DAY + 1000);
    const removed = (await messages.pass()).flatMap((b) => b.events).filter((e) => e.table === 'mail_message');
    expect(removed.map((e) => [e.op, e.key.id])).toEqual([['d', added[0]!.id]]);
  });

  it('the weekly full walk calls every deal with mail again, whatever the memo says', async () => {
    const messages = table('mail_message');
    await messages.pass();
    const first = mailCalls();
    await advance(PER_DEAL_FULL_WALK_MS + 1000);
    await messages.pass();
    expect(mailCalls() - first).toBe(liveDealsWithMail().size);
  });

  it('participants: deals with none are never called', async () => {
    const participants = table('deal_participant');
    await participants.pass();
    const live = new Set(sim.store.deals.table.all().filter((r) => r.deletedAtMs === null && !r.data.is_archived).map((r) => r.id));
    const withParticipants = new Set(sim.store.dealPeople.participants.all().filter((p) => p.deletedAtMs === null && live.has(p.data.deal_id)).map((p) => p.data.deal_id));
    expect(sim.rateLimit.stats().byOperation['getDealParticipants']?.requests).toBe(withParticipants.size);
    expect(participants.indexes.get('deal_participant')!.size).toBe(sim.store.dealPeople.participants.all().filter((p) => p.deletedAtMs === null && live.has(p.data.deal_id)).length);
  });
});
