import type { ColumnSpec, ListSpec } from '../types.ts';

/**
 * Pieces several table declarations share. Not a table: the registry is src/catalog/index.ts.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * Optional fields of the v2 deal lists that Pipedrive derives from other objects (notes, files, mail,
 * activities, participants, followers, products of the deal): asked for in the list call itself, so they
 * cost no extra tokens (an operation's x-token-cost is per call: 10 a page of 500). They tell the per-deal
 * walks which deals have something and whether it changed. Not published as deal columns: adding a note or
 * a mail is not documented to move the deal's update_time, so the incremental deal list would leave them
 * stale (docs/ARCHITECTURE.md, "Per-deal walks"); Fivetran's DEAL_HISTORY has none of them either.
 */
export const DEAL_COUNTER_FIELDS = [
  'next_activity_id', 'last_activity_id', 'products_count', 'files_count', 'notes_count', 'followers_count',
  'email_messages_count', 'activities_count', 'done_activities_count', 'undone_activities_count', 'participants_count',
  'last_incoming_mail_time', 'last_outgoing_mail_time',
] as const;

/**
 * The optional fields of the v2 deal lists that are deal columns: they change only with the deal itself
 * (first won time with its status, the smart BCC address and the source lead are fixed).
 */
export const DEAL_INCLUDE_FIELDS = ['first_won_time', 'smart_bcc_email', 'source_lead_id'] as const;

/** Counters per-deal walks read: the deal's mail (messages and threads from one walk). */
export const MAIL_COUNTERS = ['email_messages_count', 'last_incoming_mail_time', 'last_outgoing_mail_time'] as const;

/**
 * The live deals (v2 default status: open, won, lost; deleted and archived excluded), walked by the per-deal
 * lists (deal products, installments, mail, participants, followers), with the counters that say which deals
 * have something there. 10 tokens a page of 500.
 */
export const liveDeals: ListSpec = { endpoint: '/api/v2/deals', pagination: 'v2-cursor', limit: 500, params: { include_fields: DEAL_COUNTER_FIELDS.join(',') } };

/**
 * A v2 address object (`{value, country, admin_area_level_1, …}`) flattened into `<prefix>` (the full address,
 * `value`) and `<prefix>_<part>` columns, as Fivetran does for `address_*` / `location_*`.
 */
export function addressColumns(prefix: string): ColumnSpec[] {
  const parts = ['country', 'admin_area_level_1', 'admin_area_level_2', 'locality', 'sublocality', 'route', 'street_number', 'subpremise', 'postal_code'];
  return [
    { name: prefix, type: 'string', path: `${prefix}.value` },
    ...parts.map((p): ColumnSpec => ({ name: `${prefix}_${p}`, type: 'string', path: `${prefix}.${p}` })),
  ];
}

/**
 * `include_fields` of the v2 person list: its enum minus `marketing_status` and `doi_status` (refused unless
 * the company has the marketing app) and the four `related_*` counts (deals of related organizations, a
 * relation Pipedrive does not document further).
 */
export const PERSON_INCLUDE_FIELDS = [
  'next_activity_id', 'last_activity_id', 'open_deals_count', 'closed_deals_count', 'won_deals_count', 'lost_deals_count',
  'participant_open_deals_count', 'participant_closed_deals_count', 'email_messages_count', 'activities_count',
  'done_activities_count', 'undone_activities_count', 'files_count', 'notes_count', 'followers_count',
  'last_incoming_mail_time', 'last_outgoing_mail_time', 'smart_bcc_email',
] as const;

/** `include_fields` of the v2 organization list: its enum minus the four `related_*` counts (as for persons). */
export const ORGANIZATION_INCLUDE_FIELDS = [
  'next_activity_id', 'last_activity_id', 'open_deals_count', 'closed_deals_count', 'won_deals_count', 'lost_deals_count',
  'email_messages_count', 'people_count', 'activities_count', 'done_activities_count', 'undone_activities_count',
  'files_count', 'notes_count', 'followers_count', 'smart_bcc_email',
] as const;

/** Columns for requested include_fields: ids and counts are longs, `*_time` timestamps, the rest strings. */
export function includedColumns(fields: readonly string[]): ColumnSpec[] {
  return fields.map((name): ColumnSpec => ({ name, type: name.endsWith('_id') && name !== 'source_lead_id' ? 'long' : name.endsWith('_count') ? 'long' : name.endsWith('_time') ? 'timestamp' : 'string' }));
}

/**
 * The sync of a v2 entity list with `updated_since`/`updated_until` (deals, persons, organizations, activities,
 * products): ascending by update time, 500 a page, priority-first on a first sync.
 */
export function v2UpdatedSince(endpoint: string, params?: Readonly<Record<string, string>>) {
  return {
    kind: 'updated-since',
    list: { endpoint, pagination: 'v2-cursor', limit: 500, ...(params ? { params } : {}) },
    cursorField: 'update_time',
    sinceParam: 'updated_since',
    untilParam: 'updated_until',
  } as const;
}

/**
 * v2 lists hide deleted rows: an id scan every 6 hours finds them (the flag catches any a list shows); a
 * delete webhook's id is read back from the entity's get-one endpoint (1 token) and deleted at once.
 */
export function v2EntityDeletes(listEndpoint: string) {
  return [
    { kind: 'id-scan', everyMs: 6 * HOUR_MS, getOne: `${listEndpoint}/{id}` },
    { kind: 'flag', field: 'is_deleted', value: true },
  ] as const;
}

/** Custom fields of a v2 entity, from its v2 field catalog. */
export function v2CustomFields(fieldsEndpoint: string, shape: 'v1' | 'v2' = 'v2') {
  return { fields: { endpoint: fieldsEndpoint, pagination: 'v2-cursor', limit: 500 }, shape } as const;
}
