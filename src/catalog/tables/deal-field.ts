import { defineTable } from '../types.ts';

/**
 * DEAL_FIELD — v2 `GET /api/v2/dealFields` (10 tokens a page of up to 500, cursor), re-imported daily, with
 * the optional namespaces Fivetran's visibility/importance/required columns come from. v2 fields have no
 * numeric id: `field_code` (v1's `key`; a 40-char hash for custom fields) is the key. `options[]` and
 * `subfields[]` fan out to DEAL_FIELD_OPTION / DEAL_FIELD_SUBFIELD.
 */
export const dealField = defineTable({
  name: 'deal_field',
  api: 'v2',
  sync: {
    kind: 'reimport',
    list: {
      endpoint: '/api/v2/dealFields',
      pagination: 'v2-cursor',
      limit: 500,
      params: { include_fields: 'ui_visibility,important_fields,required_fields' },
    },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['field_code'],
  children: [
    { table: 'deal_field_option', from: 'options' },
    { table: 'deal_field_subfield', from: 'subfields' },
  ],
  notes: 're-imported daily; a field gone from the list is deleted (worst case 24 h)',
  columns: [
    { name: 'field_code', type: 'string' },
    { name: 'field_name', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'field_type', type: 'string' },
    { name: 'is_custom_field', type: 'boolean' },
    { name: 'is_optional_response_field', type: 'boolean' },
    { name: 'ui_visibility', type: 'json' },
    { name: 'important_fields', type: 'json' },
    { name: 'required_fields', type: 'json' },
  ],
});

/** DEAL_FIELD_OPTION — the deal field's `options[]` ({id, label, color, add_time, update_time}) of enum/set fields. */
export const dealFieldOption = defineTable({
  name: 'deal_field_option',
  api: 'v2',
  sync: { kind: 'child', parent: 'deal_field' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['id', 'deal_field_code'],
  createdField: 'add_time',
  notes: 'replaced with every deal field import; worst case 24 h',
  columns: [
    { name: 'deal_field_code', type: 'string', path: '$parent.field_code' },
    { name: 'id', type: 'long' },
    { name: 'label', type: 'string' },
    { name: 'color', type: 'string' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
  ],
});

/** DEAL_FIELD_SUBFIELD — the deal field's `subfields[]` ({field_code, field_name, field_type}) of address/monetary fields. */
export const dealFieldSubfield = defineTable({
  name: 'deal_field_subfield',
  api: 'v2',
  sync: { kind: 'child', parent: 'deal_field' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['field_code', 'parent_field_code'],
  notes: 'replaced with every deal field import; worst case 24 h',
  columns: [
    { name: 'parent_field_code', type: 'string', path: '$parent.field_code' },
    { name: 'field_code', type: 'string' },
    { name: 'field_name', type: 'string' },
    { name: 'field_type', type: 'string' },
  ],
});
