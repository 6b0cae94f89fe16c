/**
 * How every column of Fivetran's Pipedrive schema (spec/fivetran/pipedrive-erd.json) is covered, beyond
 * the columns that have the same name here. Keyed by our table name (a history table uses its base
 * table's entry: DEAL_HISTORY is `deal`). Data only; test/catalog/fivetran-columns.test.ts checks it against
 * the ERD and the specs, whole catalog, both ways.
 *
 * - `as`: Fivetran's column is our column of that name (the same value; usually Fivetran kept a v1 name the
 *   v2 API renamed). The value schema names it (field attribute `pipedrive.cdc.fivetran`), and the sink
 *   with `SINK_NAMING=fivetran` writes the column under Fivetran's name.
 * - `derive`: not a column of ours, but computable from what is (another column, a child table, a
 *   join): how. The dbt staging models do it where the marts need it.
 * - `absent`: not available, and why (mostly: a v1-only field the v2 endpoint we read does not return).
 *
 * `custom_*` (Fivetran's custom-field columns) is covered by the table's custom fields (named columns,
 * see capture/custom-fields.ts) and needs no entry.
 */
export type FivetranColumn = { readonly as: string } | { readonly derive: string } | { readonly absent: string };

const V1_ONLY = (endpoint: string): { absent: string } => ({ absent: `v1-only field: ${endpoint}, which this table reads, has no such field` });
const NOT_DELETED = { derive: 'NOT is_deleted (v2 has the delete flag; the v1 active flag is its negation)' } as const;

export const FIVETRAN_COLUMNS: Readonly<Record<string, Readonly<Record<string, FivetranColumn>>>> = {
  deal: {
    user_id: { as: 'owner_id' },
    created_at: { as: 'add_time' },
    deleted: { as: 'is_deleted' },
    cc_email: { as: 'smart_bcc_email' },
    active: { derive: "status = 'open' (v1's active flag of a deal that is neither won, lost nor deleted)" },
    label: { derive: 'label_ids (v2 holds every label id as a JSON array; v1 had one label)' },
    stage_order_nr: { derive: 'stage.order_nr of the deal\'s stage_id (v1 copied it onto the deal; v2 does not)' },
    weighted_value: { derive: 'value × probability / 100, the stage\'s deal_probability when the deal has none (v1 computed it; v2 does not)' },
    weighted_value_currency: { derive: 'currency (the weighted value is in the deal\'s currency)' },
    rotten_time: { derive: 'stage_change_time (or add_time) + stage.days_to_rotten days, for open deals in a stage with is_deal_rot_enabled (v1 computed it; v2 does not)' },
    formatted_value: { absent: 'a display string in the token user\'s locale (v1); value and currency hold the number' },
    formatted_weighted_value: { absent: 'a display string in the token user\'s locale (v1)' },
    org_hidden: { absent: 'v1 only: whether the token user may not see the linked organization' },
    person_hidden: { absent: 'v1 only: whether the token user may not see the linked person' },
    last_incoming_mail_time: { derive: "max(mail_message.message_time) of the deal's received messages (sent_flag = 0), joined through mail_thread.deal_id (not a deal column: a new mail does not move the deal's update_time)" },
    last_outgoing_mail_time: { derive: "max(mail_message.message_time) of the deal's sent messages (sent_flag = 1), joined through mail_thread.deal_id" },
  },
  lead: {
    amount: { as: 'value_amount' },
    currency: { as: 'value_currency' },
  },
  person: {
    created_at: { as: 'add_time' },
    cc_email: { as: 'smart_bcc_email' },
    active_flag: NOT_DELETED,
    email: { derive: 'person_email.value of the row with primary = true (every address is in PERSON_EMAIL)' },
    phone: { derive: 'person_phone.value of the row with primary = true (every number is in PERSON_PHONE)' },
    label: { derive: 'label_ids (v2 holds every label id as a JSON array; v1 had one label)' },
  },
  person_email: { email: { as: 'value' } },
  person_phone: { phone: { as: 'value' } },
  organization: {
    created_at: { as: 'add_time' },
    cc_email: { as: 'smart_bcc_email' },
    active_flag: NOT_DELETED,
    label: { derive: 'label_ids (v2 holds every label id as a JSON array; v1 had one label)' },
    address_formatted_address: { absent: 'v2 addresses have no formatted variant; `address` holds the full address as entered' },
  },
  activity: {
    user_id: { as: 'owner_id' },
    created_by_user_id: { as: 'creator_user_id' },
    created_at: { as: 'add_time' },
    busy_flag: { as: 'busy' },
    active_flag: NOT_DELETED,
    assigned_to_user_id: { derive: 'owner_id (v2 has one owner, the user the activity is assigned to)' },
    location_formatted_address: { absent: 'v2 locations have no formatted variant; `location` holds the full address as entered' },
    update_user_id: V1_ONLY('/api/v2/activities'),
    last_notification_user_id: V1_ONLY('/api/v2/activities'),
    last_notification_time: V1_ONLY('/api/v2/activities'),
    deal_dropbox_bcc: V1_ONLY('/api/v2/activities'),
    person_dropbox_bcc: V1_ONLY('/api/v2/activities'),
    reference_id: V1_ONLY('/api/v2/activities'),
    reference_type: V1_ONLY('/api/v2/activities'),
    source_timezone: V1_ONLY('/api/v2/activities'),
  },
  activity_participant: { primary_flag: { as: 'primary' } },
  activity_type: {
    activity_type: { as: 'key_string' },
    created_at: { as: 'add_time' },
  },
  product: {
    created_at: { as: 'add_time' },
    active_flag: NOT_DELETED,
  },
  product_price_history: {
    overhead_cost: { as: 'direct_cost' },
    id: { absent: 'v2 product prices have no id of their own: the latest price per (product, currency) is kept' },
    updated_time: { absent: 'v2 product prices carry no change time: the latest price per (product, currency) is kept' },
  },
  product_deal: {
    enabled_flag: { as: 'is_enabled' },
    last_edit: { as: 'update_time' },
    sum_no_discount: { derive: 'item_price × quantity' },
    active_flag: { absent: 'v1 only: v2 lists only the lines attached now (a removed line is deleted)' },
    discount_percentage: { absent: 'v1 only: v2 has discount with discount_type (percentage or amount)' },
    duration: { absent: 'v1 only: v2 replaced durations with billing_frequency and billing_frequency_cycles' },
    duration_unit: { absent: 'v1 only: v2 replaced durations with billing_frequency and billing_frequency_cycles' },
    quantity_formatted: { absent: 'a display string in the token user\'s locale (v1)' },
    sum_formatted: { absent: 'a display string in the token user\'s locale (v1)' },
  },
  stage: {
    created_at: { as: 'add_time' },
    rotten_days: { as: 'days_to_rotten' },
    rotten_flag: { as: 'is_deal_rot_enabled' },
    active_flag: NOT_DELETED,
  },
  pipeline: {
    created_at: { as: 'add_time' },
    deal_probability: { as: 'is_deal_probability_enabled' },
    active: NOT_DELETED,
    selected: { absent: 'v1 only: whether the pipeline is selected in the token user\'s own view' },
    url_title: V1_ONLY('/api/v2/pipelines'),
  },
  note: {
    created_at: { as: 'add_time' },
    last_updated_user_id: { as: 'last_update_user_id' },
  },
  file: {
    created_at: { as: 'add_time' },
    s_3_bucket: { as: 's3_bucket' },
  },
  filter: { created_at: { as: 'add_time' } },
  team: { created_at: { as: 'add_time' } },
  user: {
    created_at: { as: 'created' },
    modified_time: { as: 'modified' },
    is_admin: { derive: 'access (JSON): the user is an admin of an app where access[].admin is true (v1 /users has no is_admin)' },
  },
  mail_message: {
    created_at: { as: 'add_time' },
    write_flag: { absent: 'not a field of the API\'s mail message (/v1/deals/{id}/mailMessages)' },
  },
  email_to: { recipient_id: { as: 'id' } },
  email_cc: { recipient_id: { as: 'id' } },
  email_bcc: { recipient_id: { as: 'id' } },
  goal: {
    type: { as: 'type_name' },
    expected_target: { as: 'expected_outcome_target' },
    expected_tracking_metric: { as: 'expected_outcome_tracking_metric' },
    progress: { derive: 'goal_result.progress of the goal (the results call computes it)' },
  },
  goal_result: {
    type: { as: 'type_name' },
    expected_target: { as: 'expected_outcome_target' },
    expected_tracking_metric: { as: 'expected_outcome_tracking_metric' },
  },
  lead_source: { id: { absent: 'the API returns only the (unique) name; Fivetran\'s id is synthetic (the key is name)' } },
  filter_helper: { 'address_field_*': { derive: 'address_field_components (JSON): one entry per address part' } },
  deal_field: {
    key: { as: 'field_code' },
    name: { as: 'field_name' },
    id: { absent: 'v2 field metadata has no numeric id: the key is field_code (v1 `key`)' },
    add_visible_flag: { derive: 'ui_visibility.add_visible_flag (JSON)' },
    details_visible_flag: { derive: 'ui_visibility.details_visible_flag (JSON)' },
    important_flag: { derive: 'important_fields.enabled (JSON)' },
    mandatory_flag: { derive: 'required_fields (JSON: enabled, stage_ids, statuses)' },
    created_by_user_id: V1_ONLY('/api/v2/dealFields'),
    last_updated_by_user_id: V1_ONLY('/api/v2/dealFields'),
    active_flag: V1_ONLY('/api/v2/dealFields'),
    add_time: V1_ONLY('/api/v2/dealFields'),
    update_time: V1_ONLY('/api/v2/dealFields'),
    bulk_edit_allowed: V1_ONLY('/api/v2/dealFields'),
    edit_flag: V1_ONLY('/api/v2/dealFields'),
    filtering_allowed: V1_ONLY('/api/v2/dealFields'),
    index_visible_flag: V1_ONLY('/api/v2/dealFields'),
    json_column_flag: V1_ONLY('/api/v2/dealFields'),
    order_nr: V1_ONLY('/api/v2/dealFields'),
    searchable_flag: V1_ONLY('/api/v2/dealFields'),
    sortable_flag: V1_ONLY('/api/v2/dealFields'),
  },
  deal_field_option: { deal_field_id: { derive: 'deal_field_code: the parent deal field, keyed by its code (v2 fields have no numeric id)' } },
  deal_field_subfield: {
    key: { as: 'field_code' },
    name: { as: 'field_name' },
    parent_id: { derive: 'parent_field_code: the parent deal field, keyed by its code (v2 fields have no numeric id)' },
    active_flag: V1_ONLY('/api/v2/dealFields'),
    edit_flag: V1_ONLY('/api/v2/dealFields'),
    id_suffix: V1_ONLY('/api/v2/dealFields'),
    mandatory_flag: V1_ONLY('/api/v2/dealFields'),
  },
};

/** Fivetran's name of each of a table's columns that Fivetran names differently (`as` entries, reversed). */
export function fivetranColumnNames(table: string): ReadonlyMap<string, string> {
  return new Map(Object.entries(FIVETRAN_COLUMNS[table] ?? {}).flatMap(([theirs, c]) => ('as' in c ? [[c.as, theirs] as const] : [])));
}
