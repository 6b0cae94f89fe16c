import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tableByName } from '../../src/catalog/index.ts';
import type { ChangeBatch, ChangeEvent } from '../../src/capture/change.ts';
import { initialOffset } from '../../src/capture/offset.ts';
import { matches, SyncRules, SyncRulesError, type Liveness } from '../../src/capture/rules.ts';
import avro from 'avsc';
import { valueSchema } from '../../src/publish/avro-schema.ts';

const SALT = 'unit-test-salt';
const hmac = (text: string) => createHmac('sha256', SALT).update(text).digest('hex');
const batch = (table: string, events: ChangeEvent[]): ChangeBatch => ({ table, events, offset: initialOffset });
const ev = (table: string, row: Record<string, string | number | boolean | null>, op: ChangeEvent['op'] = 'u', key: readonly string[] = ['id']): ChangeEvent => ({
  table,
  key: Object.fromEntries(key.map((k) => [k, row[k] ?? null])),
  row,
  op,
  sourceTsMs: 1_000,
  hash: 'h',
});
const none: Liveness = () => false;

describe('row filters', () => {
  const row = { id: 1, status: 'open', value: 250, add_time: Date.parse('2026-05-01T10:00:00Z'), lost_reason: null, expected_close_date: 20_600 };
  const typeOf = (c: string) => tableByName('deal').columns.find((x) => x.name === c)?.type;
  it('equality, sets, ranges, null checks, and AND/OR', () => {
    expect(matches({ column: 'status', eq: 'open' }, row)).toBe(true);
    expect(matches({ column: 'status', ne: 'open' }, row)).toBe(false);
    expect(matches({ column: 'status', in: ['won', 'open'] }, row)).toBe(true);
    expect(matches({ column: 'value', gte: 250, lt: 300 }, row)).toBe(true);
    expect(matches({ column: 'value', gt: 250 }, row)).toBe(false);
    expect(matches({ column: 'lost_reason', isNull: true }, row)).toBe(true);
    expect(matches({ column: 'lost_reason', isNull: false }, row)).toBe(false);
    expect(matches({ and: [{ column: 'status', eq: 'open' }, { column: 'value', lt: 100 }] }, row)).toBe(false);
    expect(matches({ or: [{ column: 'status', eq: 'won' }, { column: 'value', gte: 100 }] }, row)).toBe(true);
  });
  it('a comparison with null is false, whatever the operator', () => {
    for (const f of [{ column: 'lost_reason', eq: 'x' }, { column: 'lost_reason', ne: 'x' }, { column: 'lost_reason', in: ['x'] }, { column: 'lost_reason', lt: 'z' }] as const) expect(matches(f, row)).toBe(false);
  });
  it('timestamp operands are ISO texts, date operands YYYY-MM-DD', () => {
    expect(matches({ column: 'add_time', gte: '2026-05-01T00:00:00Z' }, row, typeOf)).toBe(true);
    expect(matches({ column: 'add_time', lt: '2026-05-01T09:59:59Z' }, row, typeOf)).toBe(false);
    expect(matches({ column: 'expected_close_date', eq: '2026-05-27' }, row, typeOf)).toBe(true);
  });
});

describe('sync rules', () => {
  it('leaves blocked columns out of the schema and every record, and hashes hashed ones under a new name', () => {
    const rules = new SyncRules({ tables: { deal: { block: ['title'], hash: ['person_id'] } } }, SALT);
    const spec = rules.publishedSpec(tableByName('deal'));
    const names = spec.columns.map((c) => c.name);
    expect(names).not.toContain('title');
    expect(names).not.toContain('person_id');
    expect(spec.columns.find((c) => c.name === 'person_id_sha256')?.type).toBe('string');
    const out = rules.apply(batch('deal', [ev('deal', { id: 7, title: 'secret deal', person_id: 42, value: 1 })]), none);
    expect(out.published.events[0]!.row).toEqual({ id: 7, person_id_sha256: hmac('42'), value: 1 });
    expect(JSON.stringify(out.published)).not.toContain('secret deal');
    // The engine keeps the clear event (its key indexes, diffs and cursors work on clear rows).
    expect(out.kept[0]!.row.title).toBe('secret deal');
  });

  it('hashes one id the same in every table, and a hashed key column hashes the key, sealed in clear for the producer', () => {
    const rules = new SyncRules({ tables: { person: { hash: ['id'] }, deal: { hash: ['person_id'] } } }, SALT);
    const person = rules.apply(batch('person', [ev('person', { id: 42, name: 'Ann' })]), none).published.events[0]!;
    const deal = rules.apply(batch('deal', [ev('deal', { id: 7, person_id: 42 })]), none).published.events[0]!;
    expect(person.key).toEqual({ id_sha256: hmac('42') });
    expect(person.row.id_sha256).toBe(deal.row.person_id_sha256);
    expect(rules.publishedSpec(tableByName('person')).primaryKey).toEqual(['id_sha256']);
    expect(person.sealedKey).toBeDefined();
    expect(person.sealedKey).not.toContain('42');
    expect(rules.unsealKey(person.sealedKey!)).toEqual({ id: 42 });
    // A child's column holding the parent's hashed key is hashed too (person_email.person_id).
    const email = rules.apply(batch('person', [ev('person_email', { person_id: 42, index: 0, value: 'ann@x.test' }, 'u', ['person_id', 'index'])]), none).published.events[0]!;
    expect(email.key).toEqual({ person_id_sha256: hmac('42'), index: 0 });
    expect(() => new SyncRules({ tables: {} }, 'another salt').unsealKey(person.sealedKey!)).toThrow(SyncRulesError);
  });

  it('the history table follows its table: same blocked and hashed columns', () => {
    const rules = new SyncRules({ tables: { deal: { block: ['title'], hash: ['person_id'] } } }, SALT);
    expect(rules.publishedSpec(tableByName('deal_history')).columns.map((c) => c.name)).toEqual(rules.publishedSpec(tableByName('deal')).columns.map((c) => c.name));
  });

  it('drops change-log rows of blocked columns and hashes the values of hashed ones', () => {
    const rules = new SyncRules({ tables: { deal: { block: ['title', 'owner_id'], hash: ['person_id'] } } }, SALT);
    const change = (field_key: string, old_value: string, new_value: string) => ev('deal_change', { deal_id: 7, time: 1000, field_key, old_value, new_value }, 'u', ['deal_id', 'time', 'field_key']);
    const out = rules.apply(batch('deal', [change('title', 'a', 'b'), change('user_id', '1', '2'), change('person_id', '41', '42'), change('value', '1', '2')]), none).published.events;
    expect(out.map((e) => e.row.field_key)).toEqual(['person_id', 'value']);
    expect(out[0]!.row).toMatchObject({ old_value: hmac('41'), new_value: hmac('42') });
  });

  it('publishes only rows that match; a live row that stops matching becomes a key-only delete', () => {
    const rules = new SyncRules({ tables: { deal: { filter: { column: 'status', eq: 'open' } } } }, undefined);
    const live = new Set(['7']);
    const liveness: Liveness = (_t, key) => live.has(String(key.id));
    const out = rules.apply(
      batch('deal', [ev('deal', { id: 7, status: 'won', title: 'left' }), ev('deal', { id: 8, status: 'lost', title: 'never' }), ev('deal', { id: 9, status: 'open', title: 'in' })]),
      liveness,
    );
    expect(out.published.events.map((e) => [e.row.id, e.op])).toEqual([[7, 'd'], [9, 'u']]);
    expect(out.published.events[0]!.row).toEqual({ id: 7 });
    expect(JSON.stringify(out.published)).not.toContain('never');
    expect(out.kept.map((e) => [e.key.id, e.op])).toEqual([[7, 'd'], [9, 'u']]);
    // Within one batch: in, then out, then in again.
    const flip = rules.apply(batch('deal', [ev('deal', { id: 5, status: 'open' }), ev('deal', { id: 5, status: 'won' }), ev('deal', { id: 5, status: 'won' })]), none);
    expect(flip.published.events.map((e) => e.op)).toEqual(['u', 'd']);
    // A delete of a row never published is dropped; of a live one, published.
    expect(rules.apply(batch('deal', [ev('deal', { id: 8 }, 'd')]), liveness).published.events).toEqual([]);
    expect(rules.apply(batch('deal', [ev('deal', { id: 7, status: 'open' }, 'd')]), liveness).published.events.map((e) => e.op)).toEqual(['d']);
  });

  it("children follow their parent's filter; the history table and change log follow their table's", () => {
    const rules = new SyncRules({ tables: { person: { filter: { column: 'org_id', eq: 1 } }, deal: { filter: { column: 'status', eq: 'open' } } } }, undefined);
    expect(rules.filtered('person_email')).toBe(true);
    expect([rules.needsKeyIndex('person'), rules.needsKeyIndex('deal_history'), rules.needsKeyIndex('organization')]).toEqual([true, false, false]);
    const liveEmail: Liveness = (t, key) => t === 'person_email' && key.person_id === 3;
    const out = rules.apply(
      batch('person', [
        ev('person', { id: 2, org_id: 1 }),
        ev('person_email', { person_id: 2, index: 0, value: 'in@x.test' }, 'u', ['person_id', 'index']),
        ev('person', { id: 3, org_id: 2 }),
        ev('person_email', { person_id: 3, index: 0, value: 'out@x.test' }, 'u', ['person_id', 'index']),
      ]),
      liveEmail,
    ).published.events;
    expect(out.map((e) => `${e.table}:${JSON.stringify(e.key)}:${e.op}`)).toEqual(['person:{"id":2}:u', 'person_email:{"person_id":2,"index":0}:u', 'person_email:{"person_id":3,"index":0}:d']);
    const deals = rules.apply(
      batch('deal', [
        ev('deal', { id: 7, status: 'won' }),
        ev('deal_history', { id: 7, status: 'won' }),
        ev('deal_change', { deal_id: 7, time: 1, field_key: 'status', old_value: 'open', new_value: 'won' }, 'u', ['deal_id', 'time', 'field_key']),
      ]),
      (t, key) => t === 'deal' && key.id === 7,
    ).published.events;
    // The deal left the filter: a delete in deal and deal_history (ending its active version), no change row.
    expect(deals.map((e) => `${e.table}:${e.op}`)).toEqual(['deal:d', 'deal_history:d']);
  });

  it('refuses rules that cannot work, naming what is wrong', () => {
    expect(() => new SyncRules({ tables: { nosuch: {} } }, SALT)).toThrow(/unknown table "nosuch"/);
    expect(() => new SyncRules({ tables: { currency: { block: ['nope'] } } }, SALT)).toThrow(/"nope" is not a column/);
    expect(() => new SyncRules({ tables: { deal: { block: ['id'] } } }, SALT)).toThrow(/primary key/);
    expect(() => new SyncRules({ tables: { deal: { hash: ['title'] } } }, undefined)).toThrow(/HASH_SALT/);
    expect(() => new SyncRules({ tables: { deal: { hash: ['title'], block: ['title'] } } }, SALT)).toThrow(/both blocked and hashed/);
  });

  it('never shows the salt', () => {
    const rules = new SyncRules({ tables: { deal: { hash: ['title'] } } }, 'very-secret-salt');
    expect(JSON.stringify(rules)).not.toContain('very-secret-salt');
    expect(JSON.stringify({ ...rules })).not.toContain('very-secret-salt');
  });

  it('published schemas evolve compatibly: a column blocked or hashed later is a field removed and an optional one added', () => {
    const schema = (rules: SyncRules) => avro.Type.forSchema(valueSchema('p', rules.publishedSpec(tableByName('deal'))) as avro.Schema);
    const before = schema(new SyncRules({}, SALT));
    const after = schema(new SyncRules({ tables: { deal: { block: ['title'], hash: ['person_id'] } } }, SALT));
    // BACKWARD: the new schema reads what the old one wrote (the resolver throws when it cannot).
    const resolver = after.createResolver(before);
    const old = before.fromBuffer(before.toBuffer({ ...Object.fromEntries((before as avro.types.RecordType).fields.map((f) => [f.name, null])), id: 1, title: 't', value: 1, currency: 'EUR', add_time: 0, status: 'open', __op: 'u', __deleted: false, __source_ts_ms: 0, __synced_ms: 0 }));
    expect(after.fromBuffer(before.toBuffer(old), resolver)).toMatchObject({ id: 1, person_id_sha256: null });
  });
});
