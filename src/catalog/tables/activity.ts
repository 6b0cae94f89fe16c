import { defineTable } from '../types.ts';
import { addressColumns, v2CustomFields, v2EntityDeletes, v2UpdatedSince } from './shared.ts';

/**
 * ACTIVITY — v2 `GET /api/v2/activities` (10 tokens a page of up to 500), `updated_since` ascending.
 * `include_fields=attendees` adds the attendees Fivetran carries. The v2 list hides deleted activities
 * (there is no status filter as for deals), so deletes come from a periodic id scan of the same list; a row
 * that does arrive with `is_deleted: true` is a delete too. Participants fan out to ACTIVITY_PARTICIPANT.
 */
export const activity = defineTable({
  name: 'activity',
  api: 'v2',
  recentsItem: 'activity',
  sync: v2UpdatedSince('/api/v2/activities', { include_fields: 'attendees' }),
  deletes: v2EntityDeletes('/api/v2/activities'),
  primaryKey: ['id'],
  createdField: 'add_time',
  customFields: v2CustomFields('/api/v2/activityFields'),
  children: [{ table: 'activity_participant', from: 'participants' }],
  notes: 'updated_since stream; deletes by an id scan of the v2 list every 6 h (worst case 6 h + one poll; seconds with webhooks)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'subject', type: 'string' },
    { name: 'type', type: 'string' },
    { name: 'owner_id', type: 'long' },
    { name: 'creator_user_id', type: 'long' },
    { name: 'is_deleted', type: 'boolean' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'deal_id', type: 'long' },
    { name: 'lead_id', type: 'string' },
    { name: 'person_id', type: 'long' },
    { name: 'org_id', type: 'long' },
    { name: 'project_id', type: 'long' },
    { name: 'due_date', type: 'date' },
    { name: 'due_time', type: 'string' },
    { name: 'duration', type: 'string' },
    { name: 'busy', type: 'boolean' },
    { name: 'done', type: 'boolean' },
    { name: 'marked_as_done_time', type: 'timestamp' },
    ...addressColumns('location'),
    { name: 'attendees', type: 'json' },
    { name: 'conference_meeting_client', type: 'string' },
    { name: 'conference_meeting_url', type: 'string' },
    { name: 'conference_meeting_id', type: 'string' },
    { name: 'public_description', type: 'string' },
    { name: 'priority', type: 'long' },
    { name: 'note', type: 'string' },
  ],
});

/** ACTIVITY_PARTICIPANT — the v2 activity's `participants[]` ({person_id, primary}), one row per person. */
export const activityParticipant = defineTable({
  name: 'activity_participant',
  api: 'v2',
  sync: { kind: 'child', parent: 'activity' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['activity_id', 'person_id'],
  notes: 'replaced with every activity version; removed participants deleted then; worst case as activity',
  columns: [
    { name: 'activity_id', type: 'long', path: '$parent.id' },
    { name: 'person_id', type: 'long' },
    { name: 'primary', type: 'boolean' },
  ],
});
