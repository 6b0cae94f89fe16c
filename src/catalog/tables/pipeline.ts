import { defineTable } from '../types.ts';
import { HOUR_MS } from './shared.ts';

/**
 * PIPELINE — v2 `GET /api/v2/pipelines` (5 tokens a page of up to 500). No `updated_since` in v2: read sorted
 * by update time descending and stop at the cursor. Pipelines are soft-deleted (`is_deleted`); the spec does
 * not say whether the list returns them, so a flagged row is a delete and an id scan catches the rest.
 */
export const pipeline = defineTable({
  name: 'pipeline',
  api: 'v2',
  recentsItem: 'pipeline',
  sync: {
    kind: 'sorted-desc',
    list: { endpoint: '/api/v2/pipelines', pagination: 'v2-cursor', limit: 500 },
    cursorField: 'update_time',
  },
  deletes: [
    { kind: 'flag', field: 'is_deleted', value: true },
    { kind: 'id-scan', everyMs: 6 * HOUR_MS, getOne: '/api/v2/pipelines/{id}' },
  ],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 'update_time desc down to the cursor; is_deleted rows if listed (one poll), else id scan every 6 h',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'order_nr', type: 'long' },
    { name: 'is_deleted', type: 'boolean' },
    { name: 'is_deal_probability_enabled', type: 'boolean' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
  ],
});
