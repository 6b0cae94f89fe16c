import { defineTable } from '../types.ts';

/**
 * TEAM — v1 `GET /v1/legacyTeams` (20 tokens, unpaginated; a deprecated "legacy" API), re-imported daily.
 * Each team lists its member ids in `users[]` (unless `skip_users=1`), so TEAM_USER is a child of this list
 * rather than one `GET /v1/legacyTeams/{id}/users` call (20 tokens) per team. Flags are 0/1 numbers.
 */
export const team = defineTable({
  name: 'team',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/legacyTeams', pagination: 'none' }, every: 'day' },
  deletes: [{ kind: 'vanish' }, { kind: 'flag', field: 'deleted_flag', value: 1 }],
  primaryKey: ['id'],
  createdField: 'add_time',
  children: [{ table: 'team_user', from: 'users' }],
  notes: 're-imported daily; a team gone from the list or with deleted_flag=1 is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'manager_id', type: 'long' },
    { name: 'active_flag', type: 'long' },
    { name: 'deleted_flag', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'created_by_user_id', type: 'long' },
  ],
});

/** TEAM_USER — the legacy team's `users[]` (user ids). */
export const teamUser = defineTable({
  name: 'team_user',
  api: 'v1',
  sync: { kind: 'child', parent: 'team' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['team_id', 'user_id'],
  notes: 'replaced with every team import; worst case 24 h',
  columns: [
    { name: 'team_id', type: 'long', path: '$parent.id' },
    { name: 'user_id', type: 'long', path: '$value' },
  ],
});
