/**
 * Every v2 operation beside deals (persons, organizations, activities, products, pipelines, stages,
 * deal products, installments, *Fields) answers in the shape the official v2 spec documents: full and
 * empty list pages, single items, writes, deletes and error bodies validate against the operation's
 * response schema with only the V2_DEVIATIONS of spec-deviations.ts applied; returned field sets are
 * the schema's plus the V2_EXTRA_FIELDS listed there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, type Client } from './helpers.ts';
import { compileResponse, dataSchema, loadSpec, responseSchema, type Validator } from './spec.ts';
import { V2_DEVIATIONS, V2_EXTRA_FIELDS } from './spec-deviations.ts';
import type { One, Page } from './v2-helpers.ts';

type Json = Record<string, unknown>;

/** Property schemas of an object schema, through nested allOf. */
function propsOf(schema: Json): Record<string, Json> {
  const own = (schema['properties'] as Record<string, Json> | undefined) ?? {};
  const nested = ((schema['allOf'] as Json[] | undefined) ?? []).map(propsOf);
  return Object.assign({}, ...nested, own) as Record<string, Json>;
}

/** The schema of `data` (single) or of its items (list), where fields live. */
function itemSchema(schema: Json): Json {
  return dataSchema(schema);
}

/** Holders of `name` in an object schema (through allOf), resolving $refs. */
function holdersOf(o: Json, name: string): Record<string, Json>[] {
  const node = deref(o);
  const props = node['properties'] as Record<string, Json> | undefined;
  return [...(props?.[name] ? [props] : []), ...((node['allOf'] as Json[] | undefined) ?? []).flatMap((p) => holdersOf(p, name))];
}

function deref(node: Json): Json {
  const ref = node['$ref'];
  if (typeof ref !== 'string') return node;
  return ref.replace(/^#\//, '').split('/').reduce((o: Json, k) => o[k] as Json, loadSpec().doc);
}

function nullable(p: Json): Json {
  return typeof p['type'] === 'string' ? { ...p, type: [p['type'], 'null'] } : { anyOf: [p, { type: 'null' }] };
}

/** Make `path` nullable under `root`: "a", "a.*" (every property of object a), "a[].b" (b of a's items). */
function relax(root: Json, path: string, op: string): void {
  const [head, ...rest] = path.split('.');
  const arrayOf = head!.endsWith('[]');
  const name = arrayOf ? head!.slice(0, -2) : head!;
  const holders = name === '*' ? [] : holdersOf(root, name);
  if (name === '*') {
    for (const props of [deref(root)['properties'] as Record<string, Json>]) for (const k of Object.keys(props)) props[k] = nullable(deref(props[k]!));
    return;
  }
  if (holders.length === 0) throw new Error(`deviation names ${op}: ${path}, which the schema lacks`);
  for (const props of holders) {
    if (rest.length === 0) props[name] = nullable(props[name]!);
    else {
      const child = deref(props[name]!);
      props[name] = child;
      const next = arrayOf ? deref(child['items'] as Json) : child;
      if (arrayOf) child['items'] = next;
      relax(next, rest.join('.'), op);
    }
  }
}

const validators = new Map<string, Validator>();
function validator(op: string, status = '200'): Validator {
  const key = `${op} ${status}`;
  let v = validators.get(key);
  if (!v) {
    v = compileResponse(op, status, (schema) => {
      for (const d of V2_DEVIATIONS.filter((x) => x.ops.includes(op))) {
        const parts = [schema, ...((schema['allOf'] as Json[] | undefined) ?? [])];
        const root = d.list ? parts.map((p) => (p['properties'] as Record<string, Json> | undefined)?.['additional_data']).find((x) => x)! : itemSchema(schema);
        for (const f of d.fields) relax(root, f, op);
      }
    });
    validators.set(key, v);
  }
  return v;
}

function expectValid(op: string, body: unknown, status = '200'): void {
  const v = validator(op, status);
  const ok = v(body);
  expect(ok ? null : v.errors, `${op} ${status}`).toBeNull();
}

/** Fields of the op's item schema plus the listed extras of this entity. */
function expectedFields(op: string, entity: string): Set<string> {
  const extras = Object.keys(V2_EXTRA_FIELDS).filter((k) => k.startsWith(`${entity}.`)).map((k) => k.slice(entity.length + 1));
  return new Set([...Object.keys(propsOf(itemSchema(responseSchema(op)))), ...extras]);
}

let sim: Simulator;
let api: Client;

beforeAll(async () => {
  sim = await startFrozen({ deals: 40 });
  api = client(sim);
}, 60_000);
afterAll(async () => {
  await sim.close();
});

/** [entity path, list op, get op, add op, update op, delete op, a valid create body, entity name]. */
const ENTITIES = [
  ['/api/v2/persons', 'getPersons', 'getPerson', 'addPerson', 'updatePerson', 'deletePerson', { name: 'Conformance Person', emails: [{ value: 'c@x.io', label: 'work' }], phones: [{ value: '1', primary: true }], org_id: 1, label_ids: [1] }, 'person'],
  ['/api/v2/organizations', 'getOrganizations', 'getOrganization', 'addOrganization', 'updateOrganization', 'deleteOrganization', { name: 'Conformance Org', address: { value: '1 Main St', country: 'Estonia' } }, 'organization'],
  ['/api/v2/activities', 'getActivities', 'getActivity', 'addActivity', 'updateActivity', 'deleteActivity', { subject: 'Call', type: 'call', deal_id: 1, person_id: 2, due_date: '2026-02-01', due_time: '10:00', duration: '00:30', location: { value: 'Office' }, attendees: [{ email: 'a@x.io' }] }, 'activity'],
  ['/api/v2/products', 'getProducts', 'getProduct', 'addProduct', 'updateProduct', 'deleteProduct', { name: 'Conformance Product', code: 'C1', prices: [{ currency: 'EUR', price: 3, cost: 1, direct_cost: 0.5, notes: 'n' }], billing_frequency: 'monthly', billing_frequency_cycles: 12 }, 'product'],
  ['/api/v2/pipelines', 'getPipelines', 'getPipeline', 'addPipeline', 'updatePipeline', 'deletePipeline', { name: 'Conformance Pipeline' }, 'pipeline'],
  ['/api/v2/stages', 'getStages', 'getStage', 'addStage', 'updateStage', 'deleteStage', { name: 'Conformance Stage', pipeline_id: 1, is_deal_rot_enabled: true, days_to_rotten: 3 }, 'stage'],
] as const;

describe('v2 entities conform to the official spec', () => {
  for (const [path, list, get, add, update, remove, body, entity] of ENTITIES) {
    it(`${list}, ${get}, ${add}, ${update}, ${remove}`, async () => {
      // getProducts' list schema wraps each item as {success, data}; items are checked as getProduct's data.
      const itemOp = list === 'getProducts' ? get : list;
      // Every page of the seeded rows (limit 25) validates; each item has exactly the expected fields.
      let cursor: string | null = null;
      let seen = 0;
      do {
        const page: { status: number; body: Page } = await api.get<Page>(path, { limit: 25, ...(cursor ? { cursor } : {}), ...(list === 'getActivities' ? { include_fields: 'attendees' } : {}) });
        expect(page.status).toBe(200);
        expectValid(list, page.body);
        for (const item of page.body.data) {
          if (itemOp !== list) expectValid(get, { success: true, data: item });
          expect(new Set(Object.keys(item)), `${entity} fields`).toEqual(expectedFields(itemOp, entity));
        }
        seen += page.body.data.length;
        cursor = page.body.additional_data.next_cursor;
      } while (cursor);
      expect(seen).toBeGreaterThan(0);
      expectValid(list, (await api.get(path, { ids: '999999', updated_since: '2099-01-01T00:00:00Z', sort_by: 'update_time' })).body);

      const created = await api.post<One>(path, body);
      expect(created.status, JSON.stringify(created.body)).toBe(add === 'addProduct' ? 201 : 200);
      expectValid(add, created.body, add === 'addProduct' ? '201' : '200');
      const id = created.body.data.id;
      expectValid(get, (await api.get(`${path}/${id}`)).body);
      expectValid(update, (await api.patch(`${path}/${id}`, { name: 'Renamed', subject: 'Renamed' })).body);
      expectValid(remove, (await api.del(`${path}/${id}`)).body);
      expectValid(get, (await api.get(`${path}/${id}`)).body); // a deleted item, still readable
    });
  }

  it('getDealProducts, getDealsProducts, addDealProduct, updateDealProduct, deleteDealProduct, getInstallments', async () => {
    const added = await api.post<One>('/api/v2/deals/3/products', { product_id: 1, item_price: 10, quantity: 2, discount: 5, discount_type: 'amount', tax: 20, tax_method: 'exclusive', comments: 'c', billing_start_date: '2026-02-01' });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expectValid('addDealProduct', added.body, '201');
    expectValid('updateDealProduct', (await api.patch(`/api/v2/deals/3/products/${added.body.data.id}`, { quantity: 3, is_enabled: false })).body);
    expectValid('getDealProducts', (await api.get('/api/v2/deals/3/products')).body);
    const many = await api.get<Page>('/api/v2/deals/products', { deal_ids: Array.from({ length: 40 }, (_, i) => i + 1).join(','), limit: 500 });
    expectValid('getDealsProducts', many.body);
    expect(many.body.data.length).toBeGreaterThan(1);
    expectValid('getDealsProducts', (await api.get('/api/v2/deals/products', { deal_ids: '999' })).body);
    expectValid('deleteDealProduct', (await api.del(`/api/v2/deals/3/products/${added.body.data.id}`)).body);
    const inst = await api.get<Page>('/api/v2/deals/installments', { deal_ids: Array.from({ length: 40 }, (_, i) => i + 1).join(',') });
    expectValid('getInstallments', inst.body);
    expect(inst.body.data.length).toBeGreaterThan(0);
  });

  it('getDealFollowers, addDealFollower, deleteDealFollower', async () => {
    const seeded = sim.store.dealPeople.followers.table.all()[0]!.data.deal_id;
    const page = await api.get<Page>(`/api/v2/deals/${seeded}/followers`);
    expectValid('getDealFollowers', page.body);
    expect(page.body.data.length).toBeGreaterThan(0);
    const user = [2, 3, 4, 5].find((u) => !sim.store.dealPeople.followersOf(3).some((r) => r.data.user_id === u))!;
    const added = await api.post<One>('/api/v2/deals/3/followers', { user_id: user });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expectValid('addDealFollower', added.body, '201');
    expectValid('getDealFollowers', (await api.get('/api/v2/deals/3/followers', { limit: 1 })).body);
    expectValid('deleteDealFollower', (await api.del(`/api/v2/deals/3/followers/${user}`)).body);
  });

  it('get*Fields, get*Field and the field writes', async () => {
    for (const [e, E] of [['deal', 'Deal'], ['person', 'Person'], ['organization', 'Organization'], ['product', 'Product'], ['activity', 'Activity']] as const) {
      const page = await api.get<Page<Json>>(`/api/v2/${e}Fields`, { limit: 500, include_fields: 'ui_visibility,important_fields,required_fields' });
      expectValid(`get${E}Fields`, page.body);
      expect(new Set(page.body.data.map((f) => f['field_type']))).toContain('monetary');
      const custom = page.body.data.find((f) => f['is_custom_field'] === true)!;
      expectValid(`get${E}Field`, (await api.get(`/api/v2/${e}Fields/${String(custom['field_code'])}`)).body);
      if (e === 'activity') continue;
      const added = await api.post<One<Json>>(`/api/v2/${e}Fields`, { field_name: 'Colour', field_type: 'set', options: [{ label: 'Red' }, { label: 'Blue' }] });
      expectValid(`add${E}Field`, added.body);
      const code = String(added.body.data['field_code']);
      expectValid(`update${E}Field`, (await api.patch(`/api/v2/${e}Fields/${code}`, { field_name: 'Color' })).body);
      const opts = await api.post<One<{ id: number }[]>>(`/api/v2/${e}Fields/${code}/options`, [{ label: 'Green' }]);
      expectValid(`add${E}FieldOptions`, opts.body);
      expectValid(`update${E}FieldOptions`, (await api.patch(`/api/v2/${e}Fields/${code}/options`, [{ id: opts.body.data[0]!.id, label: 'Crimson' }])).body);
      const del = await fetch(`${sim.baseUrl}/api/v2/${e}Fields/${code}/options`, { method: 'DELETE', headers: { 'x-api-token': sim.token, 'content-type': 'application/json' }, body: JSON.stringify([{ id: opts.body.data[0]!.id }]) });
      expectValid(`delete${E}FieldOptions`, await del.json());
      expectValid(`delete${E}Field`, (await api.del(`/api/v2/${e}Fields/${code}`)).body);
    }
  });

  it('the validators are not vacuous: mistyped fields fail', async () => {
    const person = (await api.get<One>('/api/v2/persons/1')).body;
    expect(validator('getPerson')({ ...person, data: { ...person.data, emails: 'x' } })).toBe(false);
    const stage = (await api.get<One>('/api/v2/stages/1')).body;
    expect(validator('getStage')({ ...stage, data: { ...stage.data, order_nr: '1' } })).toBe(false);
    const dp = (await api.get<Page>('/api/v2/deals/products', { deal_ids: '1,2,3,4,5,6,7,8,9,10' })).body;
    expect(validator('getDealsProducts')({ ...dp, data: [{ ...dp.data[0], sum: 'x' }] })).toBe(false);
  });

  it('error bodies (400, 404) validate against the spec error schema', async () => {
    const error = (body: unknown): void => {
      const v = compileResponse('convertDealToLead', '404');
      expect(v(body) ? null : v.errors).toBeNull();
    };
    error((await api.get('/api/v2/persons/999999')).body);
    error((await api.get('/api/v2/activities', { limit: 501 })).body);
    error((await api.post('/api/v2/organizations', {})).body);
    error((await api.get('/api/v2/deals/products')).body);
    error((await api.get('/api/v2/dealFields/nope')).body);
    error((await api.patch('/api/v2/products/1', { custom_fields: { ['f'.repeat(40)]: 1 } })).body);
  });
});
