import { describe, expect, it } from 'vitest';
import { deal } from '../../src/catalog/tables/deal.ts';
import { PipedriveResponseError } from '../../src/pipedrive/errors.ts';
import { formatRfc3339, parseRow, parseTimestamp } from '../../src/pipedrive/row.ts';

describe('parseRow', () => {
  it('types a v2 deal: timestamps to epoch ms, dates to epoch days, arrays to JSON', () => {
    const row = parseRow(deal, { id: 7, title: 'T', add_time: '2026-01-02T03:04:05Z', expected_close_date: '1970-01-03', label_ids: [1, 2], value: 12.5, is_deleted: false });
    expect(row).toMatchObject({ id: 7, title: 'T', add_time: Date.UTC(2026, 0, 2, 3, 4, 5), expected_close_date: 2, label_ids: '[1,2]', value: 12.5, is_deleted: false, owner_id: null });
    expect(Object.keys(row)).toEqual(deal.columns.map((c) => c.name));
  });

  it('names the table, row and field of a wrong type', () => {
    expect(() => parseRow(deal, { id: 1, value: 'lots' })).toThrow(PipedriveResponseError);
    expect(() => parseRow(deal, { id: 1, value: 'lots' })).toThrow('table deal: row 1: field "value": expected a number, got "lots"');
    expect(() => parseRow(deal, [1, 2])).toThrow(/expected an object per row/);
  });

  it('reads v1 and v2 timestamp formats and writes whole-second RFC 3339', () => {
    expect(parseTimestamp('2026-01-02 03:04:05')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseTimestamp('2026-01-02T03:04:05.000Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(() => parseTimestamp('02/01/2026')).toThrow(/expected a timestamp/);
    expect(formatRfc3339(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02T03:04:05Z');
  });
});
