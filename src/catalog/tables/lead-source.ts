import { defineTable } from '../types.ts';

/**
 * LEAD_SOURCE — v1 `GET /v1/leadSources` (2 tokens, unpaginated), re-imported daily. The API returns only
 * `name` ("the unique name of a lead source", a fixed list), so the name is the key; Fivetran's `id` is
 * synthetic and has no API counterpart.
 */
export const leadSource = defineTable({
  name: 'lead_source',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/leadSources', pagination: 'none' }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['name'],
  notes: 're-imported daily (fixed list); a source gone from the list is deleted (worst case 24 h)',
  columns: [{ name: 'name', type: 'string' }],
});
