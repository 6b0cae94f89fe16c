import { defineTable } from '../types.ts';

/**
 * ACTIVITY_FIELD — v2 `GET /api/v2/activityFields` (10 tokens a page of up to 500, cursor), re-imported
 * daily. In Fivetran's docs but not in its ERD capture; no option/subfield tables there, so `options` and
 * `subfields` stay JSON. Keyed by `field_code` like DEAL_FIELD.
 */
export const activityField = defineTable({
  name: 'activity_field',
  api: 'v2',
  sync: {
    kind: 'reimport',
    list: { endpoint: '/api/v2/activityFields', pagination: 'v2-cursor', limit: 500, params: { include_fields: 'ui_visibility' } },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['field_code'],
  notes: 're-imported daily; a field gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'field_code', type: 'string' },
    { name: 'field_name', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'field_type', type: 'string' },
    { name: 'options', type: 'json' },
    { name: 'subfields', type: 'json' },
    { name: 'is_custom_field', type: 'boolean' },
    { name: 'is_optional_response_field', type: 'boolean' },
    { name: 'ui_visibility', type: 'json' },
  ],
});
