import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { ADDABLE_FIELD_TYPES } from '../../src/simulator/store/fields-builtin.ts';
import { client, startFrozen, type Client, type ErrorBody } from './helpers.ts';
import { walk, type One, type Page } from './v2-helpers.ts';

type Json = Record<string, unknown>;
const HASH = /^[0-9a-f]{40}$/;

let sim: Simulator;
let api: Client;

beforeEach(async () => {
  sim = await startFrozen();
  api = client(sim);
});
afterEach(async () => {
  await sim.close();
});

/** One person custom field per addable type; returns type → key and the option ids. */
async function personFieldsOfEveryType(): Promise<{ key: Record<string, string>; options: Record<string, number[]> }> {
  const key: Record<string, string> = {};
  const options: Record<string, number[]> = {};
  for (const type of ADDABLE_FIELD_TYPES) {
    const withOptions = type === 'enum' || type === 'set';
    const r = await api.post<One<Json>>('/api/v2/personFields', { field_name: `F ${type}`, field_type: type, ...(withOptions ? { options: [{ label: 'One' }, { label: 'Two' }] } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    key[type] = String(r.body.data['field_code']);
    options[type] = ((r.body.data['options'] as { id: number }[] | null) ?? []).map((o) => o.id);
  }
  key['int'] = sim.store.fields.add('person', { name: 'F int', field_type: 'int' }).key;
  return { key, options };
}

describe('custom field values (v2 shapes)', () => {
  it('round-trip for every field type, cleared by null; wrong shapes are 400s naming the field', async () => {
    const { key, options } = await personFieldsOfEveryType();
    const [, o2] = options['enum']!;
    const [s1, s2] = options['set']!;
    const values: Record<string, [unknown, unknown]> = {
      varchar: ['hello', 'hello'], text: ['long text', 'long text'], varchar_auto: ['auto', 'auto'], phone: ['+372 5555', '+372 5555'],
      double: [2.5, 2.5], int: [7, 7], date: ['2026-02-03', '2026-02-03'],
      monetary: [{ value: 100, currency: 'EUR' }, { value: 100, currency: 'EUR' }],
      daterange: [{ value: '2026-01-01', until: '2026-01-31' }, { value: '2026-01-01', until: '2026-01-31' }],
      time: [{ value: '09:30', timezone_name: 'Europe/Tallinn' }, { value: '09:30:00', timezone_name: 'Europe/Tallinn' }],
      timerange: [{ value: '09:00:00', until: '17:00:00' }, { value: '09:00:00', until: '17:00:00', timezone_name: 'UTC' }],
      enum: [o2, o2], set: [[s2, s1, s2], [s2, s1]], user: [3, 3], org: [4, 4], people: [5, 5],
      address: [{ value: '1 Main St', locality: 'Tallinn' }, { value: '1 Main St', street_number: null, route: null, subpremise: null, sublocality: null, locality: 'Tallinn', admin_area_level_1: null, admin_area_level_2: null, country: null, postal_code: null, formatted_address: '1 Main St' }],
    };
    const custom = Object.fromEntries(Object.entries(values).map(([t, [input]]) => [key[t]!, input]));
    const created = await api.post<One>('/api/v2/persons', { name: 'Custom', custom_fields: custom });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const expected = Object.fromEntries(Object.entries(values).map(([t, [, out]]) => [key[t]!, out]));
    expect(created.body.data['custom_fields']).toEqual(expected);
    expect((await api.get<One>('/api/v2/persons/1')).body.data['custom_fields']).toEqual(expected);

    const labelled = await api.get<One>('/api/v2/persons/1', { include_option_labels: 'true', custom_fields: `${key['enum']},${key['set']}` });
    expect(labelled.body.data['custom_fields']).toEqual({ [key['enum']!]: { id: o2, label: 'Two' }, [key['set']!]: [{ id: s2, label: 'Two' }, { id: s1, label: 'One' }] });

    const cleared = await api.patch<One>('/api/v2/persons/1', { custom_fields: { [key['varchar']!]: null, [key['set']!]: null } });
    expect(Object.keys(cleared.body.data['custom_fields'] as Json)).not.toContain(key['varchar']);
    expect(Object.keys(cleared.body.data['custom_fields'] as Json)).toHaveLength(Object.keys(values).length - 2);

    const wrong: Record<string, unknown> = {
      varchar: 5, double: '1', int: 1.5, monetary: 100, date: '2026-13-01', daterange: { value: '2026-02-01', until: '2026-01-01' },
      time: '9 o clock', enum: 999, set: [], user: 'me', address: 12,
    };
    for (const [t, v] of Object.entries(wrong)) {
      const r = await api.patch<ErrorBody>('/api/v2/persons/1', { custom_fields: { [key[t]!]: v } });
      expect(r.status, t).toBe(400);
      expect(r.body.error).toContain(key[t]);
    }
  });

  it('journal changes name the custom field by its hash key', async () => {
    const { key } = await personFieldsOfEveryType();
    await api.post('/api/v2/persons', { name: 'J', custom_fields: { [key['double']!]: 1 } });
    await api.patch('/api/v2/persons/1', { custom_fields: { [key['double']!]: 2, [key['varchar']!]: 'v' } });
    await api.patch('/api/v2/persons/1', { custom_fields: { [key['double']!]: null } });
    const events = sim.store.journal.of('person', 1);
    expect(events[0]!.changes).toContainEqual({ field: key['double'], oldValue: null, newValue: 1 });
    expect(events[1]!.changes).toEqual([{ field: key['double'], oldValue: 1, newValue: 2 }, { field: key['varchar'], oldValue: null, newValue: 'v' }]);
    expect(events[2]!.changes).toEqual([{ field: key['double'], oldValue: 2, newValue: null }]);
    for (const e of events) expect(e.changes.map((c) => c.field)).not.toContain('custom_fields');
  });
});

describe('field catalogs', () => {
  it('list built-in then custom fields per entity, cursor-paged, with subfields and options', async () => {
    await api.post('/api/v2/dealFields', { field_name: 'Tier', field_type: 'enum', options: [{ label: 'Gold' }] });
    const { rows, pages } = await walk<Json>(api, '/api/v2/dealFields', { limit: 5 });
    expect(pages).toBeGreaterThan(2);
    expect(rows[0]).toEqual({ field_name: 'ID', field_code: 'id', description: null, field_type: 'int', options: null, subfields: null, is_custom_field: false, is_optional_response_field: false });
    expect(rows.find((f) => f['field_code'] === 'value')!['subfields']).toEqual([
      { field_code: 'value', field_name: 'Amount of Value', field_type: 'double' }, { field_code: 'currency', field_name: 'Currency of Value', field_type: 'varchar' },
    ]);
    expect(rows.find((f) => f['field_code'] === 'source_lead_id')!['is_optional_response_field']).toBe(true);
    const tier = rows.at(-1)!;
    expect(tier).toMatchObject({ field_name: 'Tier', field_type: 'enum', is_custom_field: true, options: [{ label: 'Gold', color: null, add_time: '2026-01-15T12:00:00Z' }] });
    expect(tier['field_code']).toMatch(HASH);
    for (const e of ['person', 'organization', 'product', 'activity']) expect((await api.get<Page>(`/api/v2/${e}Fields`)).body.data.length).toBeGreaterThan(5);
    const inc = await api.get<One<Json>>('/api/v2/dealFields/title', { include_fields: 'ui_visibility,required_fields' });
    expect(inc.body.data).toMatchObject({ ui_visibility: { add_visible_flag: true, show_in_pipelines: { show_in_all: true } }, required_fields: { enabled: false } });
    expect((await api.get('/api/v2/dealFields', { include_fields: 'everything' })).status).toBe(400);
    expect((await api.get('/api/v2/dealFields/nope')).status).toBe(404);
    expect((await api.post('/api/v2/activityFields', { field_name: 'x', field_type: 'varchar' })).status).toBe(404);
  });

  it('add, rename, options and delete through the API; deleting drops the values without moving update_time', async () => {
    const f = await api.post<One<Json>>('/api/v2/organizationFields', { field_name: 'Segment', field_type: 'set', options: [{ label: 'SMB' }, { label: 'Mid' }] });
    const code = String(f.body.data['field_code']);
    const [smb] = (f.body.data['options'] as { id: number }[]).map((o) => o.id);
    expect((await api.patch<One<Json>>(`/api/v2/organizationFields/${code}`, { field_name: 'Market segment' })).body.data['field_name']).toBe('Market segment');
    const added = await api.post<One<{ id: number; label: string }[]>>(`/api/v2/organizationFields/${code}/options`, [{ label: 'Enterprise' }]);
    expect(added.body.data.map((o) => o.label)).toEqual(['SMB', 'Mid', 'Enterprise']);
    await api.post('/api/v2/organizations', { name: 'Acme', custom_fields: { [code]: [smb] } });
    sim.clock.advance(10_000);
    expect((await api.del<One<Json>>(`/api/v2/organizationFields/${code}`)).body.data).toMatchObject({ field_code: code, field_name: 'Market segment' });
    const org = await api.get<One>('/api/v2/organizations/1');
    expect(org.body.data).toMatchObject({ custom_fields: {}, update_time: '2026-01-15T12:00:00Z' });
    expect((await api.get('/api/v2/organizationFields/' + code)).status).toBe(404);
    expect((await api.patch<ErrorBody>('/api/v2/organizations/1', { custom_fields: { [code]: [smb] } })).body.error).toMatch(/Unknown custom field/);
    expect((await api.del('/api/v2/organizationFields/name')).status).toBe(400);
    expect((await api.post('/api/v2/dealFields', { field_name: 'x', field_type: 'status' })).status).toBe(400);
    expect((await api.post('/api/v2/dealFields', { field_name: 'x', field_type: 'enum' })).status).toBe(400);
    expect((await api.patch('/api/v2/dealFields/title', {})).status).toBe(400);
    expect((await api.patch<ErrorBody>('/api/v2/dealFields/title', { field_name: 'Name' })).body.error).toMatch(/Built-in/);
    expect(sim.store.journal.since(0, (e) => e.itemType === 'organizationField').map((e) => e.action)).toEqual(['add', 'update', 'update', 'delete']);
  });

  it('deleting a deal field drops it from deals too; leads share the deal catalog', async () => {
    const key = sim.store.fields.add('deal', { name: 'Score', field_type: 'double' }).key;
    await api.post('/api/v2/deals', { title: 'x', custom_fields: { [key]: 3 } });
    expect(sim.store.fields.custom('lead').map((d) => d.key)).toEqual([key]);
    await api.del(`/api/v2/dealFields/${key}`);
    expect((await api.get<One>('/api/v2/deals/1')).body.data['custom_fields']).toEqual({});
  });

  it('custom field keys are 40-hex, deterministic from the seed', async () => {
    const keysOf = async (seed: number): Promise<string[]> => {
      const s = await startFrozen({ seed, deals: 5 });
      try {
        return (await walk<Json>(client(s), '/api/v2/personFields', { limit: 500 })).rows.filter((f) => f['is_custom_field']).map((f) => String(f['field_code']));
      } finally {
        await s.close();
      }
    };
    const a = await keysOf(3);
    expect(a.length).toBeGreaterThanOrEqual(17);
    for (const k of a) expect(k).toMatch(HASH);
    expect(await keysOf(3)).toEqual(a);
    expect(await keysOf(4)).not.toEqual(a);
  });
});
