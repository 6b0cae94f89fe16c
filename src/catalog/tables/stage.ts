import { defineTable } from '../types.ts';
import { HOUR_MS } from './shared.ts';

/**
 * STAGE — v2 `GET /api/v2/stages` (5 tokens a page of up to 500; all pipelines when `pipeline_id` is
 * omitted). No `updated_since` in v2: sorted by update time descending down to the cursor. Soft-deleted
 * stages carry `is_deleted`; whether the list returns them is not documented, hence flag + id scan.
 */
export const stage = defineTable({
  name: 'stage',
  api: 'v2',
  recentsItem: 'stage',
  sync: {
    kind: 'sorted-desc',
    list: { endpoint: '/api/v2/stages', pagination: 'v2-cursor', limit: 500 },
    cursorField: 'update_time',
  },
  deletes: [
    { kind: 'flag', field: 'is_deleted', value: true },
    { kind: 'id-scan', everyMs: 6 * HOUR_MS, getOne: '/api/v2/stages/{id}' },
  ],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 'update_time desc down to the cursor; is_deleted rows if listed (one poll), else id scan every 6 h',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'order_nr', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'is_deleted', type: 'boolean' },
    { name: 'deal_probability', type: 'long' },
    { name: 'pipeline_id', type: 'long' },
    { name: 'is_deal_rot_enabled', type: 'boolean' },
    { name: 'days_to_rotten', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
  ],
});
