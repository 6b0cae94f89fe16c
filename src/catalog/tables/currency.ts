import { defineTable } from '../types.ts';

/** CURRENCY — v1 `GET /v1/currencies` (20 tokens, unpaginated), re-imported daily; keyed by code as Fivetran. */
export const currency = defineTable({
  name: 'currency',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/currencies', pagination: 'none' }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['code'],
  notes: 're-imported daily; a currency gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'code', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'decimal_points', type: 'long' },
    { name: 'symbol', type: 'string' },
    { name: 'active_flag', type: 'boolean' },
    { name: 'is_custom_flag', type: 'boolean' },
  ],
});
