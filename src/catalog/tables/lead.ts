import { defineTable } from '../types.ts';

/**
 * LEAD — v1 `GET /v1/leads` (20 tokens a page of 500, offset), read incrementally: `updated_since` (ISO
 * 8601, inclusive) with `sort=update_time ASC` (both since 2026-01-30). Leads have no delete flag and the
 * list excludes archived leads (2025-07-15): a lead no longer listed — deleted or archived — is found by a
 * daily scan of the list's ids and deleted. `value` ({amount, currency}) is flattened; `label_ids[]` fan out
 * to LEAD_LEAD_LABEL. This is Fivetran's LEAD_HISTORY latest state.
 */
export const lead = defineTable({
  name: 'lead',
  api: 'v1',
  sync: {
    kind: 'updated-since',
    list: { endpoint: '/v1/leads', pagination: 'v1-offset', limit: 500 },
    cursorField: 'update_time',
    sinceParam: 'updated_since',
    sortQuery: { sort: 'update_time ASC' },
  },
  deletes: [{ kind: 'id-scan', everyMs: 24 * 3600 * 1000 }],
  primaryKey: ['id'],
  createdField: 'add_time',
  // Leads share the deal fields; v1 rows carry their values flat, with sub-keys.
  customFields: { fields: { endpoint: '/api/v2/dealFields', pagination: 'v2-cursor', limit: 500 }, shape: 'v1' },
  history: 'lead_history',
  fivetranName: 'LEAD_HISTORY',
  children: [{ table: 'lead_lead_label', from: 'label_ids' }],
  notes: 'updated_since stream; a lead gone from the list (deleted or archived) is deleted by a daily id scan (worst case 24 h + one poll)',
  columns: [
    { name: 'id', type: 'string' },
    { name: 'title', type: 'string' },
    { name: 'owner_id', type: 'long' },
    { name: 'creator_id', type: 'long' },
    { name: 'person_id', type: 'long' },
    { name: 'organization_id', type: 'long' },
    { name: 'source_name', type: 'string' },
    { name: 'origin', type: 'string' },
    { name: 'origin_id', type: 'string' },
    { name: 'channel', type: 'long' },
    { name: 'channel_id', type: 'string' },
    { name: 'source_deal_id', type: 'long' },
    { name: 'is_archived', type: 'boolean' },
    { name: 'was_seen', type: 'boolean' },
    { name: 'value_amount', type: 'double', path: 'value.amount' },
    { name: 'value_currency', type: 'string', path: 'value.currency' },
    { name: 'expected_close_date', type: 'date' },
    { name: 'next_activity_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'visible_to', type: 'string' },
    { name: 'cc_email', type: 'string' },
  ],
});

/** LEAD_LEAD_LABEL — the lead's `label_ids[]` (lead label UUIDs). */
export const leadLeadLabel = defineTable({
  name: 'lead_lead_label',
  api: 'v1',
  sync: { kind: 'child', parent: 'lead' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['label_id', 'lead_id'],
  notes: 'replaced with every lead version; removed labels deleted then; worst case one poll',
  columns: [
    { name: 'lead_id', type: 'string', path: '$parent.id' },
    { name: 'label_id', type: 'string', path: '$value' },
  ],
});
