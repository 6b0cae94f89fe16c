/**
 * Responses validated against the official v2 OpenAPI response schemas (getDeals, getDeal, addDeal,
 * updateDeal, deleteDeal, and the spec's error body), with only the deviations in spec-deviations.ts.
 * The v1 operations are validated against the v1 spec in v1-conformance.test.ts.
 * The other v2 operations (persons, organizations, activities, products, pipelines, stages, deal
 * products, installments, *Fields) are validated in v2-conformance.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { DEAL_FIELDS } from '../../src/simulator/store/index.ts';
import { client, startFrozen, V2_TIME, type Client, type DataBody, type ListBody } from './helpers.ts';
import { compileResponse, dataSchema, responseSchema, type Validator } from './spec.ts';
import { DEAL_FIELDS_FROM_EXAMPLES, DEAL_FIELDS_ON_REQUEST, NULLABLE_IN_PRACTICE } from './spec-deviations.ts';

type Json = Record<string, unknown>;

/** Apply NULLABLE_IN_PRACTICE to a deal response schema (and its list envelope). */
function allowNulls(schema: Json): void {
  const dealProps = dataSchema(schema)['properties'] as Record<string, Json>;
  const parts = (schema['allOf'] as Json[] | undefined) ?? [schema];
  const additional = parts
    .map((p) => (p['properties'] as Record<string, Json> | undefined)?.['additional_data'])
    .find((x) => x !== undefined);
  const listProps = additional?.['properties'] as Record<string, Json> | undefined;
  for (const { where, field } of NULLABLE_IN_PRACTICE) {
    const props = where === 'deal' ? dealProps : listProps;
    if (where === 'list' && !props) continue; // single-deal responses have no list envelope
    const p = props?.[field];
    if (!p) throw new Error(`deviation names ${where}.${field}, which the schema lacks`);
    if (typeof p['type'] === 'string') p['type'] = [p['type'], 'null'];
  }
}

function expectValid(validate: Validator, body: unknown, what: string): void {
  const ok = validate(body);
  expect(ok ? null : validate.errors, what).toBeNull();
}

let sim: Simulator;
let api: Client;
const v: Record<string, Validator> = {};

beforeAll(async () => {
  sim = await startFrozen({ deals: 60 });
  api = client(sim);
  for (const op of ['getDeals', 'getArchivedDeals', 'getDeal', 'addDeal', 'updateDeal']) v[op] = compileResponse(op, '200', allowNulls);
  v['deleteDeal'] = compileResponse('deleteDeal');
  v['error'] = compileResponse('convertDealToLead', '404'); // the spec's one error body schema
}, 60_000);
afterAll(async () => {
  await sim.close();
});

describe('v2 deals conform to the official spec', () => {
  it('GET /api/v2/deals/archived answers in its documented shape', async () => {
    for (const id of [3, 4, 5]) await api.patch(`/api/v2/deals/${id}`, { is_archived: true });
    const page = await api.get<{ data: Array<{ id: number }> }>('/api/v2/deals/archived', { limit: 2 });
    expectValid(v['getArchivedDeals']!, page.body, 'getArchivedDeals');
    expect(page.body.data.map((d) => d.id)).toEqual([3, 4]);
    for (const id of [3, 4, 5]) await api.patch(`/api/v2/deals/${id}`, { is_archived: false });
  });

  it('the returned field set is the schema set plus the allow-listed example fields', () => {
    const schemaFields = Object.keys(dataSchema(responseSchema('getDeals'))['properties'] as Json);
    const onRequest = Object.keys(DEAL_FIELDS_ON_REQUEST);
    const expected = new Set([...schemaFields.filter((f) => !onRequest.includes(f)), ...Object.keys(DEAL_FIELDS_FROM_EXAMPLES)]);
    expect(new Set(DEAL_FIELDS)).toEqual(expected);
    for (const f of onRequest) expect(schemaFields).toContain(f);
  });

  it('getDeals: every page and every seeded deal validates', async () => {
    let cursor: string | null = null;
    let seen = 0;
    do {
      const r: { status: number; body: ListBody } = await api.get<ListBody>('/api/v2/deals', { limit: 25, ...(cursor ? { cursor } : {}) });
      expect(r.status).toBe(200);
      expectValid(v['getDeals']!, r.body, 'getDeals page');
      for (const d of r.body.data) {
        expect(Object.keys(d)).toEqual(DEAL_FIELDS);
        for (const t of ['add_time', 'update_time', 'stage_change_time', 'close_time', 'won_time', 'lost_time']) {
          if (d[t] !== null) expect(d[t], t).toMatch(V2_TIME);
        }
      }
      seen += r.body.data.length;
      cursor = r.body.additional_data.next_cursor;
    } while (cursor);
    expect(seen).toBe(60);
    const withLead = await api.get('/api/v2/deals', { include_fields: 'source_lead_id', limit: 5 });
    expectValid(v['getDeals']!, withLead.body, 'getDeals with source_lead_id');
  });

  it('getDeal, addDeal, updateDeal, deleteDeal and deleted rows validate', async () => {
    expectValid(v['getDeal']!, (await api.get('/api/v2/deals/1')).body, 'getDeal');
    const added = await api.post<DataBody>('/api/v2/deals', {
      title: 'Conformance', value: 10, status: 'lost', lost_reason: 'x', expected_close_date: '2026-03-01',
      label_ids: [1], person_id: 3, org_id: 4, probability: 50,
    });
    expectValid(v['addDeal']!, added.body, 'addDeal');
    const updated = await api.patch(`/api/v2/deals/${added.body.data.id}`, { status: 'won', is_archived: false });
    expectValid(v['updateDeal']!, updated.body, 'updateDeal');
    const deleted = await api.del(`/api/v2/deals/${added.body.data.id}`);
    expectValid(v['deleteDeal']!, deleted.body, 'deleteDeal');
    expectValid(v['getDeals']!, (await api.get('/api/v2/deals', { status: 'deleted' })).body, 'getDeals status=deleted');
  });

  it('the validators are not vacuous: a mistyped or missing-null field fails', async () => {
    const good = (await api.get<DataBody>('/api/v2/deals/1')).body;
    expectValid(v['getDeal']!, good, 'control');
    expect(v['getDeal']!({ ...good, data: { ...good.data, value: '100' } })).toBe(false);
    expect(v['getDeal']!({ ...good, data: { ...good.data, visible_to: null } })).toBe(false);
    expect(v['getDeal']!({ ...good, data: { ...good.data, label_ids: ['1'] } })).toBe(false);
    expect(v['deleteDeal']!({ success: true, data: { id: '1' } })).toBe(false);
  });

  it('error bodies (400, 404) validate against the spec error schema', async () => {
    expectValid(v['error']!, (await api.get('/api/v2/deals/999999')).body, '404');
    expectValid(v['error']!, (await api.get('/api/v2/deals', { limit: 501 })).body, '400 limit');
    expectValid(v['error']!, (await api.post('/api/v2/deals', {})).body, '400 title');
  });
});
