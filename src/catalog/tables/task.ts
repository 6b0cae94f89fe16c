import { defineTable } from '../types.ts';

/**
 * TASK — v1 `GET /v1/tasks` (20 tokens a page of up to 500, cursor), re-imported daily. `done` is a 0/1
 * number; timestamps carry milliseconds like projects'.
 */
export const task = defineTable({
  name: 'task',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/tasks', pagination: 'v1-cursor', limit: 500 }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 're-imported daily; a task gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'title', type: 'string' },
    { name: 'project_id', type: 'long' },
    { name: 'description', type: 'string' },
    { name: 'parent_task_id', type: 'long' },
    { name: 'assignee_id', type: 'long' },
    { name: 'assignee_ids', type: 'json' },
    { name: 'done', type: 'long' },
    { name: 'due_date', type: 'date' },
    { name: 'creator_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'marked_as_done_time', type: 'timestamp' },
  ],
});
