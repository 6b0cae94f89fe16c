import { defineTable, type ListSpec } from '../types.ts';

/** All permission sets (20 tokens, unpaginated). The list has no `contents`; the per-set detail has. */
const permissionSets: ListSpec = { endpoint: '/v1/permissionSets', pagination: 'none' };

/**
 * PERMISSION_SET — v1 `GET /v1/permissionSets/{id}` (2 tokens) for every set of `GET /v1/permissionSets`
 * (20), re-imported daily: only the detail carries `contents[]` (the permissions, → PERMISSION). The detail
 * `data` is one object per call (the spec's example shows an array of one). Needs an admin token.
 */
export const permissionSet = defineTable({
  name: 'permission_set',
  api: 'v1',
  sync: {
    kind: 'reimport',
    list: { endpoint: '/v1/permissionSets/{id}', pagination: 'none', forEachParent: { list: permissionSets, idField: 'id' } },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  children: [{ table: 'permission', from: 'contents' }],
  notes: 're-imported daily (list + one detail call per set); a set gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'string' },
    { name: 'name', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'app', type: 'string' },
    { name: 'type', type: 'string' },
    { name: 'assignment_count', type: 'long' },
  ],
});

/** PERMISSION — the permission set's `contents[]` (permission names, strings), keyed by position as Fivetran. */
export const permission = defineTable({
  name: 'permission',
  api: 'v1',
  sync: { kind: 'child', parent: 'permission_set' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['index', 'permission_set_id'],
  notes: 'replaced with every permission set import; worst case 24 h',
  columns: [
    { name: 'permission_set_id', type: 'string', path: '$parent.id' },
    { name: 'index', type: 'long', path: '$index' },
    { name: 'content', type: 'string', path: '$value' },
  ],
});

/**
 * PERMISSION_ASSIGNMENT — v1 `GET /v1/permissionSets/{id}/assignments` (20 tokens a page, offset) for every
 * permission set, re-imported daily. The item's `name` (the set's name again) is left out.
 */
export const permissionAssignment = defineTable({
  name: 'permission_assignment',
  api: 'v1',
  sync: {
    kind: 'reimport',
    list: { endpoint: '/v1/permissionSets/{id}/assignments', pagination: 'v1-offset', limit: 500, forEachParent: { list: permissionSets, idField: 'id' } },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['permission_set_id', 'user_id'],
  notes: 're-imported daily per permission set; an assignment gone is deleted (worst case 24 h)',
  columns: [
    { name: 'permission_set_id', type: 'string' },
    { name: 'user_id', type: 'long' },
  ],
});
