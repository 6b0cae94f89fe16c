import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { SEED_RATIOS } from '../../src/simulator/seed-account.ts';
import { seedDeals } from '../../src/simulator/seed.ts';
import { presentActivity } from '../../src/simulator/store/activities.ts';
import { presentDealProduct } from '../../src/simulator/store/deal-products.ts';
import { createStore, type SimStore } from '../../src/simulator/store/index.ts';
import { T0, T0_SEC } from './helpers.ts';

function account(seed: number, deals: number): SimStore {
  const store = createStore(new SimClock({ start: T0, frozen: true }));
  seedDeals(store, seed, deals);
  return store;
}

/** Everything a client could read about the v2 entities, as plain JSON. */
function snapshot(s: SimStore): unknown {
  return {
    deals: s.deals.table.all().map((r) => r.data),
    persons: s.persons.table.all().map((r) => s.persons.present(r)),
    organizations: s.organizations.table.all().map((r) => s.organizations.present(r)),
    products: s.products.table.all().map((r) => s.products.present(r)),
    activities: s.activities.table.all().map((r) => presentActivity(r, true)),
    dealProducts: s.dealProducts.ofDeals(s.deals.table.all().map((r) => r.id)).map(presentDealProduct),
    fields: ['deal', 'person', 'organization', 'product', 'activity'].map((e) => s.fields.list(e as 'deal').map((d) => [d.key, d.name, d.field_type])),
  };
}

describe('seeded account (v2 entities)', () => {
  it('is the same for the same seed and different for another', () => {
    expect(JSON.stringify(snapshot(account(7, 300)))).toBe(JSON.stringify(snapshot(account(7, 300))));
    expect(JSON.stringify(snapshot(account(8, 300)))).not.toBe(JSON.stringify(snapshot(account(7, 300))));
  });

  it('has entities in proportion to the deals, with ids ascending by add time and consistent links', () => {
    const n = 2000;
    const s = account(11, n);
    expect(s.persons.table.size).toBe(n * SEED_RATIOS.persons);
    expect(s.organizations.table.size).toBe(n * SEED_RATIOS.organizations);
    expect(s.activities.table.size).toBe(n * SEED_RATIOS.activities);
    expect(s.dealProducts.size).toBe(n * SEED_RATIOS.dealProducts);
    expect(s.products.table.size).toBeGreaterThanOrEqual(10);
    for (const store of [s.persons, s.organizations, s.activities, s.products]) {
      const rows = store.table.all();
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.addSec).toBeGreaterThanOrEqual(rows[i - 1]!.addSec);
      for (const r of rows) {
        expect(r.updateSec).toBeGreaterThanOrEqual(r.addSec);
        expect(r.updateSec).toBeLessThanOrEqual(T0_SEC);
      }
    }
    for (const { data: d } of s.deals.table.all()) {
      if (d.person_id !== null) expect(s.persons.getLive(d.person_id)).toBeDefined();
      if (d.org_id !== null) expect(s.organizations.getLive(d.org_id)).toBeDefined();
    }
    for (const a of s.activities.table.all()) {
      const deal = s.deals.get(a.data.deal_id!)!;
      expect(a.addSec).toBeGreaterThanOrEqual(Date.parse(deal.add_time) / 1000);
      expect([a.data.person_id, a.data.org_id]).toEqual([deal.person_id, deal.org_id]);
      if (a.data.done) expect(a.data.marked_as_done_sec).toBeLessThanOrEqual(a.updateSec);
    }
    const withProducts = new Set(s.dealProducts.ofDeals(s.deals.table.all().map((r) => r.id)).map((r) => r.data.deal_id));
    for (const id of withProducts) expect(s.deals.get(id)!.value).toBe(s.dealProducts.dealValue(id));
  });

  it('carries custom field values of every entity, drawn from the catalog', () => {
    const s = account(5, 500);
    for (const [entity, rows] of [['deal', s.deals.table.all().map((r) => r.data.custom_fields)], ['person', s.persons.table.all().map((r) => r.data.custom_fields)],
      ['activity', s.activities.table.all().map((r) => r.data.custom_fields)]] as const) {
      const keys = new Set(s.fields.custom(entity).map((d) => d.key));
      expect(keys.size).toBe(17);
      const used = new Set(rows.flatMap((cf) => Object.keys(cf)));
      for (const k of used) expect(keys).toContain(k);
      expect(used.size, entity).toBeGreaterThan(10);
      expect(rows.filter((cf) => Object.keys(cf).length > 0).length / rows.length).toBeGreaterThan(0.5);
    }
    expect(new Set(s.fields.custom('deal').map((d) => d.field_type))).toEqual(new Set(['varchar', 'text', 'double', 'monetary', 'int', 'date', 'daterange',
      'time', 'timerange', 'enum', 'set', 'user', 'org', 'people', 'phone', 'address', 'varchar_auto']));
  });

  it('predates the simulator history: seeding journals only the generated deals\' past (stage changes, closes), all before now', () => {
    const s = account(1, 200);
    const events = s.journal.since(0);
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => `${e.itemType} ${e.action}`))).toEqual(new Set(['deal update']));
    for (const e of events) expect(e.timeMs).toBeLessThanOrEqual(s.deals.table.get(e.id as number)!.updateSec * 1000);
    expect(new Set(events.flatMap((e) => e.changes.map((c) => c.field)))).toEqual(new Set(['stage_id', 'stage_change_time', 'status', 'close_time', 'won_time', 'lost_time', 'lost_reason']));
  });
});
