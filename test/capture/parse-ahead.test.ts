import { describe, expect, it } from 'vitest';
import { CustomFieldsChanged, type EmitContext } from '../../src/capture/emit.ts';
import { initialOffset } from '../../src/capture/offset.ts';
import { advance, parseAhead } from '../../src/capture/updated-since-source.ts';
import { tableByName } from '../../src/catalog/index.ts';
import { deal } from '../../src/catalog/tables/deal.ts';
import { PipedriveDataError } from '../../src/pipedrive/errors.ts';

/**
 * Rows parsed and hashed ahead, in slices (the event loop gets turns between them): `advance` over them
 * gives exactly what it gives parsing each row itself, errors included and in the same order.
 */
const ctx: EmitContext = { spec: deal, tableOf: tableByName, indexes: new Map() };
const at = (s: number) => new Date(Date.UTC(2026, 10, 1) + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const raw = (id: number, sec: number) => ({ id, title: `deal ${id}`, creator_user_id: 1, owner_id: 1, pipeline_id: 1, stage_id: 1, value: id, currency: 'EUR', add_time: at(0), update_time: at(sec), status: 'open', is_deleted: false, custom_fields: {} });

describe('parseAhead + advance', () => {
  it('the same events and offset as advance parsing each row, across several slices and same-second rows', async () => {
    const items = Array.from({ length: 345 }, (_, i) => raw(i + 1, Math.floor(i / 7)));
    const prev = { ...initialOffset, cursorMs: null };
    const direct = advance(ctx, prev, items, false, 'update_time');
    const ahead = advance(ctx, prev, items, false, 'update_time', await parseAhead(deal, items));
    expect(ahead).toEqual(direct);
    expect(ahead.events).toHaveLength(345);
    expect(ahead.events.every((e) => typeof e.hash === 'string' && e.hash.length === 12)).toBe(true);
  });

  it('errors stay with their rows: a new custom field before a malformed row still comes first, and the other way round', async () => {
    const custom = { ...raw(1, 1), custom_fields: { ['a'.repeat(40)]: 'x' } };
    const malformed = { ...raw(2, 2), id: 'not-a-number' };
    for (const [items, expected] of [
      [[raw(3, 0), custom, malformed], CustomFieldsChanged],
      [[raw(3, 0), malformed, custom], PipedriveDataError],
    ] as const) {
      const parsed = await parseAhead(deal, items);
      expect(() => advance(ctx, initialOffset, items, false, 'update_time')).toThrow(expected);
      expect(() => advance(ctx, initialOffset, items, false, 'update_time', parsed)).toThrow(expected);
    }
  });
});
