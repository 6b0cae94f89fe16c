import type { ColumnSpec, ListSpec } from '../types.ts';

/**
 * Pieces several table declarations share. Not a table: the registry is src/catalog/index.ts.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * The live deals (v2 default status: open, won, lost; deleted and archived excluded), walked by the per-deal
 * lists (deal products, installments, mail). 10 tokens a page of 500.
 */
export const liveDeals: ListSpec = { endpoint: '/api/v2/deals', pagination: 'v2-cursor', limit: 500 };

/**
 * A v2 address object (`{value, country, admin_area_level_1, …}`) flattened into `<prefix>` (the full address,
 * `value`) and `<prefix>_<part>` columns, as Fivetran does for `address_*` / `location_*`.
 */
export function addressColumns(prefix: string): ColumnSpec[] {
  const parts = ['country', 'admin_area_level_1', 'admin_area_level_2', 'locality', 'sublocality', 'route', 'street_number', 'subpremise', 'postal_code'];
  return [
    { name: prefix, type: 'string', path: `${prefix}.value` },
    ...parts.map((p): ColumnSpec => ({ name: `${prefix}_${p}`, type: 'string', path: `${prefix}.${p}` })),
  ];
}

/**
 * The sync of a v2 entity list with `updated_since`/`updated_until` (deals, persons, organizations, activities,
 * products): ascending by update time, 500 a page, priority-first on a first sync.
 */
export function v2UpdatedSince(endpoint: string, params?: Readonly<Record<string, string>>) {
  return {
    kind: 'updated-since',
    list: { endpoint, pagination: 'v2-cursor', limit: 500, ...(params ? { params } : {}) },
    cursorField: 'update_time',
    sinceParam: 'updated_since',
    untilParam: 'updated_until',
  } as const;
}

/** v2 lists hide deleted rows: an id scan every 6 hours finds them (the flag catches any a list shows). */
export const v2EntityDeletes = [
  { kind: 'id-scan', everyMs: 6 * HOUR_MS },
  { kind: 'flag', field: 'is_deleted', value: true },
] as const;

/** Custom fields of a v2 entity, from its v2 field catalog. */
export function v2CustomFields(fieldsEndpoint: string, shape: 'v1' | 'v2' = 'v2') {
  return { fields: { endpoint: fieldsEndpoint, pagination: 'v2-cursor', limit: 500 }, shape } as const;
}
