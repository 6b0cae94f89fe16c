import { defineTable } from '../types.ts';

/**
 * PROJECT — v1 `GET /v1/projects` (20 tokens a page, cursor), re-imported daily, archived projects
 * included (`include_archived=true`) so archiving is an update, not a delete; deleted projects are not
 * listed by default and vanish. `deal_ids[]` fan out to PROJECT_DEAL. v1 project timestamps carry
 * milliseconds (`2023-09-12 11:12:18.110`).
 */
export const project = defineTable({
  name: 'project',
  api: 'v1',
  sync: {
    kind: 'reimport',
    list: { endpoint: '/v1/projects', pagination: 'v1-cursor', limit: 500, params: { include_archived: 'true' } },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  createdField: 'add_time',
  children: [{ table: 'project_deal', from: 'deal_ids' }],
  notes: 're-imported daily; a project gone from the list (deleted) is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'title', type: 'string' },
    { name: 'board_id', type: 'long' },
    { name: 'phase_id', type: 'long' },
    { name: 'description', type: 'string' },
    { name: 'status', type: 'string' },
    { name: 'owner_id', type: 'long' },
    { name: 'start_date', type: 'date' },
    { name: 'end_date', type: 'date' },
    { name: 'org_id', type: 'long' },
    { name: 'person_id', type: 'long' },
    { name: 'labels', type: 'json' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'status_change_time', type: 'timestamp' },
    { name: 'archive_time', type: 'timestamp' },
  ],
});

/** PROJECT_DEAL — the project's `deal_ids[]`. */
export const projectDeal = defineTable({
  name: 'project_deal',
  api: 'v1',
  sync: { kind: 'child', parent: 'project' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['deal_id', 'project_id'],
  notes: 'replaced with every project import; worst case 24 h',
  columns: [
    { name: 'project_id', type: 'long', path: '$parent.id' },
    { name: 'deal_id', type: 'long', path: '$value' },
  ],
});
