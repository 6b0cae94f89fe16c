/**
 * Seeded v2 data around the seeded deals: the custom field catalog, organizations, persons, products,
 * activities, deal products and custom field values, in proportion to the deal count (SEED_RATIOS).
 * Same seed + same clock instant → the same account; every kind draws from its own stream, so adding
 * one kind does not reshuffle the others.
 *
 * Built for scale (1,000,000 deals within 2 GiB): records are compact, strings come from small pools
 * and are shared, empty values are shared frozen objects, and custom field values are drawn from a
 * small pool of values per field.
 */
import { Rng } from './prng.ts';
import { ascendingTimes, seedActivities, seedDealProducts, type CustomPicker } from './seed-activities.ts';
import { ACCOUNT } from './store/account.ts';
import type { FieldEntity } from './store/fields-builtin.ts';
import type { FieldDef } from './store/fields.ts';
import { generateValue } from './store/field-values.ts';
import type { SimStore } from './store/index.ts';
import { EMPTY_CUSTOM, EMPTY_IDS, EMPTY_LIST, makeAddress } from './store/model-kit.ts';
import { makeOrganization } from './store/organizations.ts';
import { GENERATED_EMAIL, GENERATED_PHONE, makePerson } from './store/persons.ts';
import { makeProduct, type PriceInput } from './store/products.ts';

/** Per seeded deal. */
export const SEED_RATIOS = { persons: 0.6, organizations: 0.2, activities: 2, dealProducts: 0.5 } as const;
const DAY = 86_400;
/** Contacts and products predate the deals (which span 90 days). */
const CONTACT_SPREAD_SEC = 180 * DAY;

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Radia', 'Guido', 'Frances', 'Edsger'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie', 'Perlman', 'Rossum', 'Allen', 'Dijkstra'];
const ORGS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Tyrell', 'Soylent', 'Cyberdyne', 'Wonka', 'Aperture'];
const ORG_SUFFIX = ['Inc', 'Ltd', 'GmbH', 'OÜ', 'LLC', 'Group'];
const CITIES = [['Tallinn', 'Estonia'], ['Berlin', 'Germany'], ['Austin', 'United States'], ['Lisbon', 'Portugal'], ['Toronto', 'Canada']] as const;
const JOBS = ['CEO', 'CTO', 'Head of Sales', 'Procurement manager', 'Engineer', 'Office manager'];
const PRODUCT_NAMES = ['Pencil', 'Notebook', 'Licence', 'Support plan', 'Onboarding pack', 'Router', 'Sensor', 'Training day'];
const PRODUCT_TIERS = ['Basic', 'Pro', 'Enterprise', 'Mini', 'XL'];
/** One custom field of each kind a company typically has, per entity. */
const CUSTOM_TYPES = ['varchar', 'text', 'double', 'monetary', 'int', 'date', 'daterange', 'time', 'timerange', 'enum', 'set',
  'user', 'org', 'people', 'phone', 'address', 'varchar_auto'] as const;
const CUSTOM_NAMES: Record<(typeof CUSTOM_TYPES)[number], string> = {
  varchar: 'Region', text: 'Background', double: 'Score', monetary: 'Budget', int: 'Seats', date: 'Renewal date',
  daterange: 'Contract period', time: 'Best time to call', timerange: 'Office hours', enum: 'Tier', set: 'Interests',
  user: 'Account manager', org: 'Partner organization', people: 'Referred by', phone: 'Direct line', address: 'Billing address',
  varchar_auto: 'Source campaign',
};
/** Share of items with a value in any one custom field. */
const CUSTOM_FILL = 0.12;
const POOL = 48;
const COMBOS = 512;

/** Seed everything beside deals; `dealCount` deals must already be in the store. */
export function seedAccount(store: SimStore, seed: number, dealCount: number): void {
  const stream = (salt: number): Rng => new Rng((seed ^ salt) >>> 0);
  const nowSec = store.clock.nowSeconds();
  const counts = {
    organizations: Math.round(dealCount * SEED_RATIOS.organizations),
    persons: Math.round(dealCount * SEED_RATIOS.persons),
    products: dealCount === 0 ? 0 : Math.min(5000, Math.max(10, Math.round(dealCount / 200))),
  };
  seedCustomFields(store, seed, nowSec);
  const values = customValuePools(store, stream(0x0c0ffee), nowSec, counts);
  seedOrganizations(store, stream(0x0a11ce), nowSec, counts.organizations, values.organization);
  seedPersons(store, stream(0x0b0b), nowSec, counts, values.person);
  seedProducts(store, stream(0x0d0d), nowSec, counts.products, values.product);
  linkDeals(store, stream(0x0dea1), counts, values.deal);
  seedActivities(store, stream(0x0ac7), nowSec, Math.round(dealCount * SEED_RATIOS.activities), values.activity);
  seedDealProducts(store, stream(0x0dd9), nowSec, Math.round(dealCount * SEED_RATIOS.dealProducts));
}

function seedCustomFields(store: SimStore, seed: number, nowSec: number): void {
  store.fields.reseed(seed);
  const rng = new Rng((seed ^ 0xf1e1d5) >>> 0);
  for (const entity of ['deal', 'person', 'organization', 'product', 'activity'] as const) {
    for (const type of CUSTOM_TYPES) {
      const options = type === 'enum' ? ['Gold', 'Silver', 'Bronze'] : type === 'set' ? ['Analytics', 'Security', 'Mobile', 'API'] : undefined;
      store.fields.add(entity, { name: CUSTOM_NAMES[type], field_type: type, options }, { sec: nowSec - 365 * DAY + rng.int(0, 30) * DAY, seeded: true });
    }
  }
}

/**
 * Per entity: a picker of an item's custom values. Items draw from COMBOS prebuilt value sets, each
 * made of values from a small pool per field: values are never mutated (writes copy), so rows share
 * them, and a million rows cost a few hundred objects instead of a million.
 */
function customValuePools(store: SimStore, rng: Rng, nowSec: number, refs: { persons: number; organizations: number }): Record<FieldEntity, CustomPicker> {
  const pick = (entity: FieldEntity): CustomPicker => {
    const defs: readonly Readonly<FieldDef>[] = store.fields.custom(entity);
    const pools = defs.map((d) => Array.from({ length: POOL }, () => generateValue(rng, d, nowSec, { persons: refs.persons, orgs: refs.organizations })));
    const combos = Array.from({ length: COMBOS }, () => {
      const out: Record<string, unknown> = {};
      defs.forEach((d, i) => {
        const v = rng.chance(CUSTOM_FILL) ? rng.pick(pools[i]!) : null;
        if (v !== null) out[d.key] = v;
      });
      return Object.keys(out).length === 0 ? EMPTY_CUSTOM : Object.freeze(out);
    });
    return (r) => r.pick(combos);
  };
  return { deal: pick('deal'), person: pick('person'), organization: pick('organization'), product: pick('product'), activity: pick('activity') };
}

const updatedAfter = (rng: Rng, addSec: number, nowSec: number): number => (rng.chance(0.6) ? addSec : rng.int(addSec, nowSec));

function seedOrganizations(store: SimStore, rng: Rng, nowSec: number, n: number, custom: CustomPicker): void {
  const names = ORGS.flatMap((o) => ORG_SUFFIX.map((s) => `${o} ${s}`));
  const addresses = CITIES.map(([city, country], i) => makeAddress({ value: `${i + 1} Main St, ${city}, ${country}`, country, locality: city, route: 'Main St', street_number: String(i + 1) }));
  for (const addSec of ascendingTimes(rng, n, nowSec, CONTACT_SPREAD_SEC)) {
    store.organizations.insert(addSec, updatedAfter(rng, addSec, nowSec), () => makeOrganization({
      name: rng.pick(names), owner_id: rng.pick(ACCOUNT.userIds), is_deleted: false,
      visible_to: rng.weighted([[3, 80], [1, 10], [7, 10]] as const), address: rng.chance(0.6) ? rng.pick(addresses) : null,
      label_ids: rng.chance(0.2) ? [rng.int(1, 5)] : EMPTY_IDS, custom_fields: custom(rng),
    }));
  }
}

function seedPersons(store: SimStore, rng: Rng, nowSec: number, counts: { persons: number; organizations: number }, custom: CustomPicker): void {
  const fullNames = FIRST.map((f) => LAST.map((l) => `${f} ${l}`));
  for (const addSec of ascendingTimes(rng, counts.persons, nowSec, CONTACT_SPREAD_SEC)) {
    const fi = rng.int(0, FIRST.length - 1);
    const li = rng.int(0, LAST.length - 1);
    const [first, last] = [FIRST[fi]!, LAST[li]!];
    store.persons.insert(addSec, updatedAfter(rng, addSec, nowSec), () => makePerson({
      name: fullNames[fi]![li]!, first_name: first, last_name: last, owner_id: rng.pick(ACCOUNT.userIds),
      org_id: counts.organizations > 0 && rng.chance(0.7) ? rng.int(1, counts.organizations) : null,
      emails: rng.chance(0.8) ? GENERATED_EMAIL : EMPTY_LIST,
      phones: rng.chance(0.5) ? GENERATED_PHONE : EMPTY_LIST,
      is_deleted: false, visible_to: 3, label_ids: rng.chance(0.2) ? [rng.int(1, 5)] : EMPTY_IDS, picture_id: null,
      postal_address: null, notes: null, im: EMPTY_LIST, birthday: null, job_title: rng.chance(0.3) ? rng.pick(JOBS) : null,
      custom_fields: custom(rng),
    }));
  }
}

function seedProducts(store: SimStore, rng: Rng, nowSec: number, n: number, custom: CustomPicker): void {
  for (const addSec of ascendingTimes(rng, n, nowSec, CONTACT_SPREAD_SEC)) {
    const base = rng.int(1, 200) * 5;
    const prices: PriceInput[] = ['USD', 'EUR', 'GBP'].filter((c, i) => i === 0 || rng.chance(0.4)).map((currency) => ({
      currency, price: base, cost: Math.round(base * 0.6), direct_cost: rng.chance(0.5) ? Math.round(base * 0.1) : null, notes: null,
    }));
    store.products.insert(addSec, updatedAfter(rng, addSec, nowSec), (id) => makeProduct({
      name: `${rng.pick(PRODUCT_NAMES)} ${rng.pick(PRODUCT_TIERS)}`, code: `SKU-${id}`, description: null, unit: rng.pick(['pcs', 'seat', 'hour', null]),
      tax: rng.pick([0, 0, 9, 20]), category: rng.pick(['Hardware', 'Software', 'Services', null]), is_linkable: true, is_deleted: false,
      visible_to: 3, owner_id: rng.pick(ACCOUNT.userIds), billing_frequency: 'one-time', billing_frequency_cycles: null,
      prices, custom_fields: custom(rng),
    }));
  }
}

/**
 * Finish the seeded deals: contact person and organization among the generated ones (the deal
 * generator draws ids before they exist), custom field values, and shared strings/empties. The deal
 * objects were created a moment ago by seedDeals and nothing has read them yet, so this edits them in
 * place rather than copying a million objects.
 */
function linkDeals(store: SimStore, rng: Rng, counts: { persons: number; organizations: number }, custom: CustomPicker): void {
  const strings = new Map<string, string>();
  const shared = (s: string): string => strings.get(s) ?? (strings.set(s, s), s);
  for (const row of store.deals.table.all()) {
    const d = row.data;
    d.person_id = d.person_id !== null && counts.persons > 0 ? rng.int(1, counts.persons) : null;
    const personOrg = d.person_id === null ? null : (store.persons.table.get(d.person_id)?.data.org_id ?? null);
    d.org_id = personOrg ?? (d.org_id !== null && counts.organizations > 0 ? rng.int(1, counts.organizations) : null);
    d.custom_fields = custom(rng) as Record<string, unknown>;
    d.title = shared(d.title);
    if (d.label_ids.length === 0) d.label_ids = EMPTY_IDS as number[];
    if (d.expected_close_date !== null) d.expected_close_date = shared(d.expected_close_date);
    for (const k of ['local_won_date', 'local_lost_date', 'local_close_date'] as const) {
      const v = d[k];
      if (v !== null) d[k] = shared(v);
    }
  }
}
