import { defineTable } from '../types.ts';

/**
 * NOTE — v1 `/recents?items=note` (20 tokens a page) since the checkpoint; the full list `GET /v1/notes`
 * (20 tokens a page) outside Recents' 30-day window. No v2 endpoint. `active_flag` is "active or deleted".
 * The nested display copies of linked objects (`deal.title`, `person.name`, `user.*`, …) are left out.
 */
export const note = defineTable({
  name: 'note',
  api: 'v1',
  sync: {
    kind: 'recents',
    item: 'note',
    cursorField: 'update_time',
    fullList: { endpoint: '/v1/notes', pagination: 'v1-offset', limit: 500 },
  },
  deletes: [{ kind: 'flag', field: 'active_flag', value: false }],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 'Recents; deletes as active_flag=false within one poll (if Recents reports them; full import after 30 days finds the rest)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'active_flag', type: 'boolean' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'content', type: 'string' },
    { name: 'user_id', type: 'long' },
    { name: 'last_update_user_id', type: 'long' },
    { name: 'deal_id', type: 'long' },
    { name: 'lead_id', type: 'string' },
    { name: 'person_id', type: 'long' },
    { name: 'org_id', type: 'long' },
    { name: 'project_id', type: 'long' },
    { name: 'task_id', type: 'long' },
    { name: 'pinned_to_deal_flag', type: 'boolean' },
    { name: 'pinned_to_lead_flag', type: 'boolean' },
    { name: 'pinned_to_organization_flag', type: 'boolean' },
    { name: 'pinned_to_person_flag', type: 'boolean' },
    { name: 'pinned_to_project_flag', type: 'boolean' },
    { name: 'pinned_to_task_flag', type: 'boolean' },
  ],
});
