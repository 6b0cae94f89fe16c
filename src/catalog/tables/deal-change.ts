import { defineTable } from '../types.ts';

/**
 * DEAL_CHANGE — the field-level change log of deals (field, old value, new value, time, actor), from v1
 * `GET /v1/deals/{id}/changelog`, read for every new or changed deal (see deal.ts `changelog`). Changes of
 * one field within one second collapse to one row (oldest old value, newest new value). Values are the
 * API's text forms; custom fields appear under their hash keys (the field catalog tables name them).
 */
export const dealChange = defineTable({
  name: 'deal_change',
  api: 'v1',
  sync: { kind: 'changelog', of: 'deal' },
  deletes: [{ kind: 'none' }],
  primaryKey: ['deal_id', 'time', 'field_key'],
  notes: 'immutable rows, published with the deal change they belong to',
  columns: [
    { name: 'deal_id', type: 'long', path: '$parent.id' },
    { name: 'time', type: 'timestamp' },
    { name: 'field_key', type: 'string' },
    { name: 'old_value', type: 'string' },
    { name: 'new_value', type: 'string' },
    { name: 'actor_user_id', type: 'long' },
    { name: 'change_source', type: 'string' },
  ],
});
