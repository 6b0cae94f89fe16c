import { defineTable } from '../types.ts';
import { DEAL_INCLUDE_FIELDS, includedColumns } from './shared.ts';

const dealList = { status: 'open,won,lost,deleted', include_fields: DEAL_INCLUDE_FIELDS.join(',') };

/**
 * DEAL — v2 `GET /api/v2/deals` (10 tokens a page of up to 500). Fivetran keeps deals only as DEAL_HISTORY;
 * this is its latest state. `status=open,won,lost,deleted` makes deals deleted in the last 30 days come
 * back with `is_deleted: true` in the same ordered stream as updates, so one cursor covers both. The
 * optional fields that change only with the deal (`include_fields`: first won time, smart BCC address,
 * source lead) come in the same call at no extra cost; the counters Pipedrive derives from notes, mail,
 * activities, … are read by the per-deal walks but not published here (see DEAL_COUNTER_FIELDS).
 */
export const deal = defineTable({
  name: 'deal',
  api: 'v2',
  recentsItem: 'deal',
  sync: {
    kind: 'updated-since',
    list: { endpoint: '/api/v2/deals', pagination: 'v2-cursor', limit: 500, params: dealList },
    cursorField: 'update_time',
    sinceParam: 'updated_since',
    untilParam: 'updated_until',
    // Since 2025-07-15 archived deals are only in their own list (20 tokens a page): read it every 10 minutes.
    archived: { list: { endpoint: '/api/v2/deals/archived', pagination: 'v2-cursor', limit: 500, params: dealList }, everyMs: 10 * 60_000 },
  },
  // The flag shows deletes within Pipedrive's 30-day purge window; a daily id scan catches deals purged
  // while the connector was stopped for longer.
  deletes: [
    { kind: 'flag', field: 'is_deleted', value: true },
    { kind: 'id-scan', everyMs: 24 * 3600 * 1000 },
  ],
  primaryKey: ['id'],
  createdField: 'add_time',
  customFields: { fields: { endpoint: '/api/v2/dealFields', pagination: 'v2-cursor', limit: 500 }, shape: 'v2' },
  history: 'deal_history',
  // Every field change, to rebuild the versions between polls and before the first sync (20 tokens a deal).
  changelog: {
    list: { endpoint: '/v1/deals/{id}/changelog', pagination: 'v1-cursor', limit: 500 },
    table: 'deal_change',
    fieldKeys: { user_id: 'owner_id', deleted: 'is_deleted', label: 'label_ids' },
  },
  fivetranName: 'DEAL_HISTORY',
  notes: 'deletes arrive in the same stream (status=deleted) within one poll interval; purged ones by a daily id scan',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'title', type: 'string', required: true },
    { name: 'creator_user_id', type: 'long' },
    { name: 'owner_id', type: 'long' },
    { name: 'person_id', type: 'long' },
    { name: 'org_id', type: 'long' },
    { name: 'pipeline_id', type: 'long' },
    { name: 'stage_id', type: 'long' },
    { name: 'value', type: 'double', required: true },
    { name: 'currency', type: 'string', required: true },
    { name: 'add_time', type: 'timestamp', required: true },
    { name: 'update_time', type: 'timestamp' },
    { name: 'stage_change_time', type: 'timestamp' },
    { name: 'is_deleted', type: 'boolean' },
    { name: 'is_archived', type: 'boolean' },
    { name: 'archive_time', type: 'timestamp' },
    { name: 'status', type: 'string', required: true },
    { name: 'probability', type: 'double' },
    { name: 'lost_reason', type: 'string' },
    { name: 'visible_to', type: 'long' },
    { name: 'close_time', type: 'timestamp' },
    { name: 'won_time', type: 'timestamp' },
    { name: 'lost_time', type: 'timestamp' },
    { name: 'expected_close_date', type: 'date' },
    { name: 'label_ids', type: 'json' },
    { name: 'origin', type: 'string' },
    { name: 'origin_id', type: 'string' },
    { name: 'channel', type: 'long' },
    { name: 'channel_id', type: 'string' },
    { name: 'arr', type: 'double' },
    { name: 'mrr', type: 'double' },
    { name: 'acv', type: 'double' },
    ...includedColumns(DEAL_INCLUDE_FIELDS),
  ],
});
