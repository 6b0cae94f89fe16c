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
