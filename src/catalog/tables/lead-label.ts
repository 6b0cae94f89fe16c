import { defineTable } from '../types.ts';

/**
 * LEAD_LABEL — v1 `GET /v1/leadLabels` (10 tokens, unpaginated: all labels), re-imported daily. Fivetran
 * keeps lead labels only as LEAD_LABEL_HISTORY; this is its latest state.
 */
export const leadLabel = defineTable({
  name: 'lead_label',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/leadLabels', pagination: 'none' }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  createdField: 'add_time',
  history: 'lead_label_history',
  fivetranName: 'LEAD_LABEL_HISTORY',
  notes: 're-imported daily; a label gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'color', type: 'string' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
  ],
});
