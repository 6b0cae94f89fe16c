import { defineTable } from '../types.ts';
import { ORGANIZATION_INCLUDE_FIELDS, addressColumns, includedColumns, v2CustomFields, v2EntityDeletes, v2UpdatedSince } from './shared.ts';

/**
 * ORGANIZATION — v2 `GET /api/v2/organizations` (10 tokens a page of up to 500), `updated_since` ascending;
 * the `address` object flattened into `address` (full) and `address_*`. Deleted organizations are hidden
 * from the list: periodic id scan.
 */
export const organization = defineTable({
  name: 'organization',
  api: 'v2',
  recentsItem: 'organization',
  // The optional fields (deal, people, activity, note, file counters, …) in the same call: no extra tokens.
  sync: v2UpdatedSince('/api/v2/organizations', { include_fields: ORGANIZATION_INCLUDE_FIELDS.join(',') }),
  deletes: v2EntityDeletes('/api/v2/organizations'),
  primaryKey: ['id'],
  createdField: 'add_time',
  customFields: v2CustomFields('/api/v2/organizationFields'),
  notes: 'updated_since stream; deletes by an id scan of the v2 list every 6 h (worst case 6 h + one poll; seconds with webhooks)',
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
    ...includedColumns(ORGANIZATION_INCLUDE_FIELDS),
  ],
});
