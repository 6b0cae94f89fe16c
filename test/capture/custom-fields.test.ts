import { describe, expect, it } from 'vitest';
import { assignNames, customColumns, parseFieldDef, snakeCase, type FieldDef } from '../../src/capture/custom-fields.ts';
import { parseValue } from '../../src/pipedrive/row.ts';

const key = (c: string) => c.repeat(40);
const field = (k: string, name: string, fieldType: string, options: FieldDef['options'] = []): FieldDef => ({ key: k, name, fieldType, options, isCustom: true });

describe('custom field columns', () => {
  it('snake-cases names', () => {
    expect(snakeCase('Deal Owner’s Région (EU)')).toBe('deal_owner_s_region_eu');
    expect(snakeCase('2nd contact')).toBe('f_2nd_contact');
    expect(snakeCase('!!!')).toBe('field');
  });

  it('freezes names at first sight: a rename keeps the column', () => {
    const first = assignNames({}, [field(key('a'), 'Budget', 'double')], ['id', 'title']);
    expect(first).toEqual({ [key('a')]: 'budget' });
    const renamed = assignNames(first, [field(key('a'), 'Yearly budget', 'double')], ['id', 'title']);
    expect(renamed).toEqual({ [key('a')]: 'budget' });
  });

  it('resolves collisions deterministically, whatever order the API lists fields in', () => {
    const defs = [field(key('b'), 'Title', 'varchar'), field(key('a'), 'Title', 'varchar'), field(key('c'), 'Amount', 'monetary'), field(key('d'), 'Amount currency', 'varchar')];
    const one = assignNames({}, defs, ['id', 'title']);
    const two = assignNames({}, [...defs].reverse(), ['id', 'title']);
    expect(one).toEqual(two);
    expect(one[key('a')]).toBe('title_2');
    expect(one[key('b')]).toBe('title_3');
    // `amount` spreads into amount + amount_currency, so the field named "Amount currency" cannot take it.
    expect(one[key('c')]).toBe('amount');
    expect(one[key('d')]).toBe('amount_currency_2');
  });

  it('spreads structured v2 values into typed columns, with enum/set labels and ids', () => {
    const defs = [
      field(key('m'), 'Price', 'monetary'),
      field(key('e'), 'Tier', 'enum', [{ id: 1, label: 'Gold' }, { id: 2, label: 'Silver' }]),
      field(key('s'), 'Tags', 'set', [{ id: 7, label: 'hot' }, { id: 8, label: 'cold' }]),
      field(key('r'), 'Window', 'daterange'),
      field(key('x'), 'HQ', 'address'),
    ];
    const names = assignNames({}, defs, []);
    const cols = customColumns('v2', names, defs);
    const raw = {
      custom_fields: {
        [key('m')]: { value: 12.5, currency: 'EUR' },
        [key('e')]: 2,
        [key('s')]: [7, 8],
        [key('r')]: { value: '2026-01-01', until: '2026-01-31' },
        [key('x')]: { value: 'Main St 1, Tallinn', locality: 'Tallinn', country: 'Estonia' },
      },
    };
    const row = Object.fromEntries(cols.map((c) => [c.name, parseValue(c, c.read!(raw))]));
    expect(row).toMatchObject({
      price: 12.5,
      price_currency: 'EUR',
      tier: 'Silver',
      tier_id: 2,
      tags: '["hot","cold"]',
      tags_ids: '[7,8]',
      window: Date.UTC(2026, 0, 1) / 86_400_000,
      window_until: Date.UTC(2026, 0, 31) / 86_400_000,
      hq: 'Main St 1, Tallinn',
      hq_locality: 'Tallinn',
      hq_country: 'Estonia',
    });
  });

  it('reads v1 flat values with sub-keys (leads)', () => {
    const defs = [field(key('m'), 'Price', 'monetary'), field(key('s'), 'Tags', 'set', [{ id: 7, label: 'hot' }])];
    const cols = customColumns('v1', assignNames({}, defs, []), defs);
    const raw = { [key('m')]: 10, [`${key('m')}_currency`]: 'USD', [key('s')]: '7' };
    expect(Object.fromEntries(cols.map((c) => [c.name, c.read!(raw)]))).toEqual({ price: 10, price_currency: 'USD', tags: ['hot'], tags_ids: [7] });
  });

  it('parses v2 and v1 field definitions', () => {
    expect(parseFieldDef({ field_code: key('a'), field_name: 'X', field_type: 'enum', options: [{ id: 1, label: 'a' }], is_custom_field: true })).toEqual(field(key('a'), 'X', 'enum', [{ id: 1, label: 'a' }]));
    expect(parseFieldDef({ key: 'title', name: 'Title', field_type: 'varchar', options: null }).isCustom).toBe(false);
    expect(() => parseFieldDef({ name: 'no key' })).toThrow(/malformed field/);
  });
});
