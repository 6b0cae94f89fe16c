// The official `pipedrive` npm client (v33, axios-based) against the simulator: the SDK is configured
// only with basePath and the API token, exactly as a user would point it at a sandbox.
import { v1, v2 } from 'pipedrive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { startFrozen, T0 } from './helpers.ts';

let sim: Simulator;
let v2config: v2.Configuration;
let v1config: v1.Configuration;
beforeAll(async () => {
  sim = await startFrozen({ deals: 30 });
  v2config = new v2.Configuration({ apiKey: sim.token, basePath: `${sim.baseUrl}/api/v2` });
  v1config = new v1.Configuration({ apiKey: sim.token, basePath: `${sim.baseUrl}/v1` });
});
afterAll(async () => {
  await sim.close();
});

/** The SDK rejects with the response body for HTTP errors (its errorInterceptor). */
async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  if (e === undefined) throw new Error('expected the call to fail');
  return e as Record<string, unknown>;
}

/** v1 "since" format, a minute before the frozen clock's start. */
const SINCE = '2026-01-15 11:59:00';

describe('v2 deals through the official client', () => {
  it('lists every deal page by page with the cursor', async () => {
    const deals = new v2.DealsApi(v2config);
    const ids: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await deals.getDeals({ limit: 7, sort_by: 'id', cursor });
      expect(page.success).toBe(true);
      ids.push(...(page.data ?? []).map((d) => d.id!));
      cursor = page.additional_data?.next_cursor ?? undefined;
    } while (cursor);
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('creates, reads, updates and deletes a deal', async () => {
    const deals = new v2.DealsApi(v2config);
    const created = await deals.addDeal({ AddDealRequest: { title: 'SDK deal', value: 1200, currency: 'EUR' } });
    const id = created.data!.id!;
    expect(created.data).toMatchObject({ title: 'SDK deal', value: 1200, currency: 'EUR', status: 'open', add_time: '2026-01-15T12:00:00Z' });

    expect((await deals.getDeal({ id })).data).toMatchObject({ id, title: 'SDK deal' });
    sim.clock.advance(5_000);
    const updated = await deals.updateDeal({ id, UpdateDealRequest: { title: 'SDK deal (won)', status: 'won' } });
    expect(updated.data).toMatchObject({ id, title: 'SDK deal (won)', status: 'won', update_time: '2026-01-15T12:00:05Z' });

    const updatedSince = await deals.getDeals({ updated_since: '2026-01-15T12:00:05Z', status: 'won' });
    expect(updatedSince.data?.map((d) => d.id)).toContain(id);

    expect((await deals.deleteDeal({ id })).data).toEqual({ id });
    expect((await deals.getDeal({ id })).data).toMatchObject({ id, is_deleted: true });
    const deleted = await deals.getDeals({ status: 'deleted' });
    expect(deleted.data?.map((d) => d.id)).toEqual([id]);
  });

  it('surfaces Pipedrive error bodies: 404, 400, 401 and 429', async () => {
    const deals = new v2.DealsApi(v2config);
    expect(await rejection(deals.getDeal({ id: 999_999 }))).toMatchObject({ success: false, error: 'Entity was not found' });
    expect(await rejection(deals.addDeal({ AddDealRequest: { value: 5 } as never }))).toMatchObject({ success: false });
    const wrong = new v2.DealsApi(new v2.Configuration({ apiKey: 'nope', basePath: `${sim.baseUrl}/api/v2` }));
    expect(await rejection(wrong.getDeals())).toMatchObject({ success: false, errorCode: 401 });

    sim.rateLimit.configure({ enforce: true, burst: 1 });
    sim.clock.advance(2_000);
    try {
      await deals.getDeal({ id: 1 });
      expect(await rejection(deals.getDeal({ id: 1 }))).toMatchObject({ success: false, errorCode: 429, error: 'Request over limit' });
    } finally {
      sim.rateLimit.configure({ enforce: false, burst: null });
    }
  });
});

describe('v2 persons and organizations through the official client', () => {
  it('creates, lists, updates and deletes a person', async () => {
    const persons = new v2.PersonsApi(v2config);
    const created = await persons.addPerson({
      AddPersonRequest: { name: 'Ada Lovelace', emails: [{ value: 'ada@example.com', primary: true, label: 'work' }] },
    });
    const id = created.data!.id!;
    expect(created.data).toMatchObject({ name: 'Ada Lovelace' });
    expect((await persons.getPerson({ id })).data).toMatchObject({ id, name: 'Ada Lovelace' });
    expect((await persons.getPersons({ limit: 500 })).data?.map((p) => p.id)).toContain(id);

    const updated = await persons.updatePerson({ id, UpdatePersonRequest: { name: 'Ada King' } });
    expect(updated.data).toMatchObject({ id, name: 'Ada King' });

    expect((await persons.deletePerson({ id })).data).toMatchObject({ id });
    expect((await persons.getPersons({ limit: 500 })).data?.map((p) => p.id)).not.toContain(id);
  });

  it('creates, lists, updates and deletes an organization', async () => {
    const orgs = new v2.OrganizationsApi(v2config);
    const created = await orgs.addOrganization({ AddOrganizationRequest: { name: 'Analytical Engines Ltd' } });
    const id = created.data!.id!;
    expect(created.data).toMatchObject({ name: 'Analytical Engines Ltd' });
    expect((await orgs.getOrganization({ id })).data).toMatchObject({ id, name: 'Analytical Engines Ltd' });
    expect((await orgs.getOrganizations({ limit: 500 })).data?.map((o) => o.id)).toContain(id);

    const updated = await orgs.updateOrganization({ id, UpdateOrganizationRequest: { name: 'Difference Engines Ltd' } });
    expect(updated.data).toMatchObject({ id, name: 'Difference Engines Ltd' });

    expect((await orgs.deleteOrganization({ id })).data).toMatchObject({ id });
    expect((await orgs.getOrganizations({ limit: 500 })).data?.map((o) => o.id)).not.toContain(id);
  });
});

describe('v1 recents through the official client', () => {
  it('reads the recent changes of deals and persons since a timestamp', async () => {
    const deal = await new v2.DealsApi(v2config).addDeal({ AddDealRequest: { title: 'recent deal' } });
    const person = await new v2.PersonsApi(v2config).addPerson({ AddPersonRequest: { name: 'Recent Person' } });
    const recents = new v1.RecentsApi(v1config);

    const deals = await recents.getRecents({ since_timestamp: SINCE, items: 'deal', limit: 500 });
    expect(deals.success).toBe(true);
    const dealItems = (deals.data ?? []) as { item?: string; id?: number }[];
    expect(dealItems.every((r) => r.item === 'deal')).toBe(true);
    expect(dealItems.map((r) => r.id)).toContain(deal.data!.id);

    const people = await recents.getRecents({ since_timestamp: SINCE, items: 'person' });
    const personItems = (people.data ?? []) as { item?: string; id?: number }[];
    expect(personItems.map((r) => r.id)).toContain(person.data!.id);

    // Nothing changed after the clock's now.
    const future = new Date(sim.clock.nowMs() + 60_000).toISOString().replace('T', ' ').slice(0, 19);
    expect((await recents.getRecents({ since_timestamp: future, items: 'deal' })).data ?? []).toEqual([]);
    expect(T0.getTime()).toBeLessThan(sim.clock.nowMs());
  });
});
