import { defineTable } from '../types.ts';
import { HOUR_MS, addressColumns } from './shared.ts';

/**
 * ORGANIZATION — v2 `GET /api/v2/organizations` (10 tokens a page of up to 500), `updated_since` ascending;
 * the `address` object flattened into `address` (full) and `address_*`. Deleted organizations are hidden
 * from the list: periodic id scan.
 */
export const organization = defineTable({
  name: 'organization',
  api: 'v2',
  sync: {
    kind: 'updated-since',
    list: { endpoint: '/api/v2/organizations', pagination: 'v2-cursor', limit: 500 },
    cursorField: 'update_time',
    sinceParam: 'updated_since',
    untilParam: 'updated_until',
  },
  deletes: [
    { kind: 'id-scan', everyMs: 6 * HOUR_MS },
    { kind: 'flag', field: 'is_deleted', value: true },
  ],
  primaryKey: ['id'],
  createdField: 'add_time',
  customFields: { fields: { endpoint: '/api/v2/organizationFields', pagination: 'v2-cursor', limit: 500 }, shape: 'v2' },
  notes: 'updated_since stream; deletes by an id scan of the v2 list every 6 h (worst case 6 h + one poll)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'owner_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'is_deleted', type: 'boolean' },
    { name: 'visible_to', type: 'long' },
    ...addressColumns('address'),
    { name: 'label_ids', type: 'json' },
  ],
});
