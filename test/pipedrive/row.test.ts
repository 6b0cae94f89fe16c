import { describe, expect, it } from 'vitest';
import { deal } from '../../src/catalog/tables/deal.ts';
import { PipedriveDataError } from '../../src/pipedrive/errors.ts';
import { formatRfc3339, parseRow, parseTimestamp } from '../../src/pipedrive/row.ts';

/** The deal fields Pipedrive always fills. */
const REQUIRED = { title: 'T', value: 0, currency: 'EUR', status: 'open', add_time: '2026-01-01T00:00:00Z', update_time: '2026-01-01T00:00:00Z' };

describe('parseRow', () => {
  it('types a v2 deal: timestamps to epoch ms, dates to epoch days, arrays to JSON', () => {
    const row = parseRow(deal, { ...REQUIRED, id: 7, title: 'T', add_time: '2026-01-02T03:04:05Z', expected_close_date: '1970-01-03', label_ids: [1, 2], value: 12.5, is_deleted: false });
    expect(row).toMatchObject({ id: 7, title: 'T', add_time: Date.UTC(2026, 0, 2, 3, 4, 5), expected_close_date: 2, label_ids: '[1,2]', value: 12.5, is_deleted: false, owner_id: null });
    expect(Object.keys(row)).toEqual(deal.columns.map((c) => c.name));
  });

  it('rows are built in one literal of the columns: any column name, the columns order, the JSON of assigning them one by one', () => {
    const spec = { ...deal, columns: [...deal.columns, { name: 'odd "name" \\ x', type: 'string' as const, path: 'odd' }, { name: 'ünï-code', type: 'long' as const, path: 'n' }] };
    const raw = { ...REQUIRED, id: 9, odd: 'o', n: 3 };
    const row = parseRow(spec, raw);
    expect(Object.keys(row)).toEqual(spec.columns.map((c) => c.name));
    const assigned: Record<string, unknown> = {};
    for (const c of spec.columns) assigned[c.name] = row[c.name];
    expect(JSON.stringify(row)).toBe(JSON.stringify(assigned));
    expect(row['odd "name" \\ x']).toBe('o');
    expect(row['ünï-code']).toBe(3);
    // Two rows of the table are two objects.
    expect(parseRow(spec, raw)).not.toBe(row);
  });

  it('names the table, row and field of a wrong type', () => {
    expect(() => parseRow(deal, { ...REQUIRED, id: 1, value: 'lots' })).toThrow(PipedriveDataError);
    expect(() => parseRow(deal, { ...REQUIRED, id: 1, value: 'lots' })).toThrow('table deal: row 1: field "value": expected a number, got "lots"');
    expect(() => parseRow(deal, [1, 2])).toThrow(/expected an object per row/);
  });

  it('refuses a row without a value Pipedrive always returns: required columns, the key, the sort cursor', () => {
    for (const field of ['title', 'value', 'update_time', 'id']) {
      const { [field]: _gone, ...partial } = { ...REQUIRED, id: 3 } as Record<string, unknown>;
      expect(() => parseRow(deal, partial), field).toThrow(`table deal: row ${field === 'id' ? 'undefined' : 3}: field "${field}" is missing`);
      expect(() => parseRow(deal, { ...partial, [field]: null }), `${field} null`).toThrow(PipedriveDataError);
    }
    // Optional columns may be absent or null (arr/mrr/acv exist only on some plans).
    expect(parseRow(deal, { ...REQUIRED, id: 3, arr: null }).mrr).toBeNull();
  });

  it('reads v1 and v2 timestamp formats and writes whole-second RFC 3339', () => {
    expect(parseTimestamp('2026-01-02 03:04:05')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseTimestamp('2026-01-02T03:04:05.000Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(() => parseTimestamp('02/01/2026')).toThrow(/expected a timestamp/);
    expect(formatRfc3339(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02T03:04:05Z');
  });
});
