import { defineTable } from '../types.ts';

/**
 * FILTER — v1 `GET /v1/filters` (20 tokens, unpaginated, all types), re-imported daily (one call a day is
 * cheaper than polling Recents' `filter` item). `is_editable` is relative to the token's user and left out.
 */
export const filter = defineTable({
  name: 'filter',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/filters', pagination: 'none' }, every: 'day' },
  deletes: [{ kind: 'vanish' }, { kind: 'flag', field: 'active_flag', value: false }],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 're-imported daily; a filter gone from the list or with active_flag=false is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'filter_code', type: 'string' },
    { name: 'active_flag', type: 'boolean' },
    { name: 'type', type: 'string' },
    { name: 'temporary_flag', type: 'boolean' },
    { name: 'user_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'visible_to', type: 'string' },
    { name: 'last_used_time', type: 'timestamp' },
    { name: 'custom_view_id', type: 'long' },
  ],
});

/**
 * FILTER_HELPER — v1 `GET /v1/filters/helpers` (20 tokens), re-imported daily. The response `data` is ONE
 * object (operators, relative dates, address field components), i.e. one row; the API has no id, so the
 * key is the row's position (always 0), Fivetran's synthetic `id`. Address components stay one JSON column
 * rather than Fivetran's dynamic `address_field_*` columns.
 */
export const filterHelper = defineTable({
  name: 'filter_helper',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/filters/helpers', pagination: 'none' }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  notes: 're-imported daily; a single row that changes in place (no deletes in practice)',
  columns: [
    { name: 'id', type: 'long', path: '$index' },
    { name: 'operators', type: 'json' },
    { name: 'deprecated_operators', type: 'json' },
    { name: 'relative_dates', type: 'json' },
    { name: 'address_field_components', type: 'json' },
  ],
});
