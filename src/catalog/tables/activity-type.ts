import { defineTable } from '../types.ts';
import { DAY_MS } from './shared.ts';

/**
 * ACTIVITY_TYPE — v1 `/recents?items=activityType` (20 tokens a page) since the checkpoint; the full list
 * `GET /v1/activityTypes` (20, unpaginated) when the checkpoint is outside Recents' 30-day window. No v2
 * endpoint. Deactivated (deleted) types come back with `active_flag: false`; a daily id scan of the full
 * list (one call) covers a delete Recents might not report.
 */
export const activityType = defineTable({
  name: 'activity_type',
  api: 'v1',
  sync: {
    kind: 'recents',
    item: 'activityType',
    cursorField: 'update_time',
    fullList: { endpoint: '/v1/activityTypes', pagination: 'none' },
  },
  deletes: [
    { kind: 'flag', field: 'active_flag', value: false },
    { kind: 'id-scan', everyMs: DAY_MS, list: { endpoint: '/v1/activityTypes', pagination: 'none' } },
  ],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 'Recents; active_flag=false within one poll, else the daily id scan (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'icon_key', type: 'string' },
    { name: 'color', type: 'string' },
    { name: 'order_nr', type: 'long' },
    { name: 'key_string', type: 'string' },
    { name: 'active_flag', type: 'boolean' },
    { name: 'is_custom_flag', type: 'boolean' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
  ],
});
