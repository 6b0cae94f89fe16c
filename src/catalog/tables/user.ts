import { defineTable } from '../types.ts';

/**
 * USER — v1 `/recents?items=user` (20 tokens a page; the entry's `data` is an array of one in practice) since
 * the checkpoint; the full list `GET /v1/users` (20, unpaginated) outside Recents' 30-day window. The v1 User
 * schema has `is_deleted` ("deleted from the company"); `active_flag` is deactivation, not deletion. The
 * cursor is `modified` (v1 users have no `update_time`); `is_you` depends on the token's user and is left out.
 */
export const user = defineTable({
  name: 'user',
  api: 'v1',
  sync: {
    kind: 'recents',
    item: 'user',
    cursorField: 'modified',
    fullList: { endpoint: '/v1/users', pagination: 'none' },
  },
  deletes: [{ kind: 'flag', field: 'is_deleted', value: true }],
  primaryKey: ['id'],
  createdField: 'created',
  notes: 'Recents (cursor modified); deletes as is_deleted=true within one poll; full import after 30 days finds the rest',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'default_currency', type: 'string' },
    { name: 'locale', type: 'string' },
    { name: 'lang', type: 'long' },
    { name: 'email', type: 'string' },
    { name: 'phone', type: 'string' },
    { name: 'activated', type: 'boolean' },
    { name: 'last_login', type: 'timestamp' },
    { name: 'created', type: 'timestamp' },
    { name: 'modified', type: 'timestamp' },
    { name: 'has_created_company', type: 'boolean' },
    { name: 'access', type: 'json' },
    { name: 'active_flag', type: 'boolean' },
    { name: 'timezone_name', type: 'string' },
    { name: 'timezone_offset', type: 'string' },
    { name: 'role_id', type: 'long' },
    { name: 'icon_url', type: 'string' },
    { name: 'is_deleted', type: 'boolean' },
  ],
});
