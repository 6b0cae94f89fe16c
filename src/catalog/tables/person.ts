import { defineTable } from '../types.ts';
import { PERSON_INCLUDE_FIELDS, addressColumns, includedColumns, v2CustomFields, v2EntityDeletes, v2UpdatedSince } from './shared.ts';

/**
 * PERSON — v2 `GET /api/v2/persons` (10 tokens a page of up to 500), `updated_since` ascending, v2 shape
 * (emails/phones arrays → PERSON_EMAIL / PERSON_PHONE; `postal_address`, `notes`, `im`, `birthday`,
 * `job_title` only with Contact Sync). Deleted persons are hidden from the list: periodic id scan.
 */
export const person = defineTable({
  name: 'person',
  api: 'v2',
  recentsItem: 'person',
  // The optional fields (deal, activity, note, file, mail counters, …) in the same call: no extra tokens.
  sync: v2UpdatedSince('/api/v2/persons', { include_fields: PERSON_INCLUDE_FIELDS.join(',') }),
  deletes: v2EntityDeletes('/api/v2/persons'),
  primaryKey: ['id'],
  createdField: 'add_time',
  customFields: v2CustomFields('/api/v2/personFields'),
  children: [
    { table: 'person_email', from: 'emails' },
    { table: 'person_phone', from: 'phones' },
  ],
  notes: 'updated_since stream; deletes by an id scan of the v2 list every 6 h (worst case 6 h + one poll; seconds with webhooks)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'first_name', type: 'string' },
    { name: 'last_name', type: 'string' },
    { name: 'owner_id', type: 'long' },
    { name: 'org_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'is_deleted', type: 'boolean' },
    { name: 'visible_to', type: 'long' },
    { name: 'label_ids', type: 'json' },
    { name: 'picture_id', type: 'long' },
    ...addressColumns('postal_address'),
    { name: 'notes', type: 'string' },
    { name: 'im', type: 'json' },
    // The spec types it as a plain string (no format); a date column would stop the table on any other shape.
    { name: 'birthday', type: 'string' },
    { name: 'job_title', type: 'string' },
    ...includedColumns(PERSON_INCLUDE_FIELDS),
  ],
});

/** PERSON_EMAIL — the v2 person's `emails[]` ({value, primary, label}), keyed by position as Fivetran does. */
export const personEmail = defineTable({
  name: 'person_email',
  api: 'v2',
  sync: { kind: 'child', parent: 'person' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['person_id', 'index'],
  notes: 'replaced with every person version; removed emails deleted then; worst case as person',
  columns: [
    { name: 'person_id', type: 'long', path: '$parent.id' },
    { name: 'index', type: 'long', path: '$index' },
    { name: 'value', type: 'string' },
    { name: 'primary', type: 'boolean' },
    { name: 'label', type: 'string' },
  ],
});

/** PERSON_PHONE — the v2 person's `phones[]` ({value, primary, label}), keyed by position as Fivetran does. */
export const personPhone = defineTable({
  name: 'person_phone',
  api: 'v2',
  sync: { kind: 'child', parent: 'person' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['person_id', 'index'],
  notes: 'replaced with every person version; removed phones deleted then; worst case as person',
  columns: [
    { name: 'person_id', type: 'long', path: '$parent.id' },
    { name: 'index', type: 'long', path: '$index' },
    { name: 'value', type: 'string' },
    { name: 'primary', type: 'boolean' },
    { name: 'label', type: 'string' },
  ],
});
