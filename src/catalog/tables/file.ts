import { defineTable } from '../types.ts';

/**
 * FILE — v1 `/recents?items=file` (20 tokens a page) since the checkpoint; the full list `GET /v1/files`
 * (20 tokens a page of at most 100) outside Recents' 30-day window. No v2 endpoint. Deleted files carry
 * `active_flag: false`. Denormalized names of linked objects (`deal_name`, `person_name`, …) are left out.
 */
export const file = defineTable({
  name: 'file',
  api: 'v1',
  sync: {
    kind: 'recents',
    item: 'file',
    cursorField: 'update_time',
    fullList: { endpoint: '/v1/files', pagination: 'v1-offset', limit: 100 },
  },
  deletes: [{ kind: 'flag', field: 'active_flag', value: false }],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 'Recents; deletes as active_flag=false within one poll (if Recents reports them; full import after 30 days finds the rest)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'user_id', type: 'long' },
    { name: 'deal_id', type: 'long' },
    { name: 'person_id', type: 'long' },
    { name: 'org_id', type: 'long' },
    { name: 'product_id', type: 'long' },
    { name: 'activity_id', type: 'long' },
    { name: 'lead_id', type: 'string' },
    { name: 'log_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'file_name', type: 'string' },
    { name: 'file_type', type: 'string' },
    { name: 'file_size', type: 'long' },
    { name: 'active_flag', type: 'boolean' },
    { name: 'inline_flag', type: 'boolean' },
    { name: 'remote_location', type: 'string' },
    { name: 'remote_id', type: 'string' },
    { name: 'cid', type: 'string' },
    { name: 's3_bucket', type: 'string' },
    { name: 'mail_message_id', type: 'string' },
    { name: 'mail_template_id', type: 'string' },
    { name: 'url', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'description', type: 'string' },
  ],
});
