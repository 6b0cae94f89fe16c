import { defineTable } from '../types.ts';

/** ROLE — v1 `GET /v1/roles` (20 tokens a page, offset), re-imported daily. Needs an admin token. */
export const role = defineTable({
  name: 'role',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/roles', pagination: 'v1-offset', limit: 500 }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  notes: 're-imported daily; a role gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'parent_role_id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'active_flag', type: 'boolean' },
    // Counts come as digit strings ("0"); the long column parses them.
    { name: 'assignment_count', type: 'long' },
    { name: 'sub_role_count', type: 'long' },
    { name: 'level', type: 'long' },
  ],
});
