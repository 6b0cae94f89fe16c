/**
 * The one allow-list of places where the simulator knowingly differs from the v2 spec's response
 * schemas, each with its reason. Conformance tests apply these and nothing else.
 */

export interface NullableDeviation {
  /** `deal`: a field of the deal object; `list`: a field of a list's additional_data. */
  where: 'deal' | 'list';
  field: string;
  reason: string;
}

/** Fields the spec types as non-nullable that Pipedrive returns as null. */
export const NULLABLE_IN_PRACTICE: readonly NullableDeviation[] = [
  { where: 'deal', field: 'person_id', reason: 'a deal need not be linked to a person; unset ids are null' },
  { where: 'deal', field: 'org_id', reason: 'a deal need not be linked to an organization; unset ids are null' },
  { where: 'deal', field: 'stage_change_time', reason: 'null until the deal first changes stage' },
  { where: 'deal', field: 'won_time', reason: 'only set once a deal is won; open/lost deals carry null' },
  { where: 'deal', field: 'lost_time', reason: 'only set once a deal is lost; open/won deals carry null' },
  { where: 'deal', field: 'expected_close_date', reason: 'optional field; null when not set' },
  {
    where: 'list',
    field: 'next_cursor',
    reason: 'schema says string, its own description says "null if you have reached the end of the dataset"',
  },
];

/** Deal fields returned that the response schema does not list; the spec's own examples show them. */
export const DEAL_FIELDS_FROM_EXAMPLES: Record<string, string> = {
  creator_user_id: 'in every v2 deal example; also a Fivetran DEAL column',
  archive_time: 'in every v2 deal example; archived-deal support',
  local_won_date: 'in every v2 deal example',
  local_lost_date: 'in every v2 deal example',
  local_close_date: 'in every v2 deal example',
};

/** Schema fields returned only on request. */
export const DEAL_FIELDS_ON_REQUEST: Record<string, string> = {
  source_lead_id: 'spec: "Only included when requested via include_fields parameter"',
};

/** v1: one relaxation of an operation's response schema (see v1-spec.ts for `at` paths). */
export interface V1Deviation {
  ops: readonly string[];
  /** Response status (default '200'). */
  status?: string;
  /** Object schema holding the fields: `data[]` list items, `data[].data@deal` a recents branch, '' the root. */
  at: string;
  fields: readonly string[];
  relax: 'nullable' | 'any-format' | 'any-enum' | 'array-of' | 'wrapped' | 'integer';
  reason: string;
}

const NOTE_OPS = ['getNote', 'addNote', 'updateNote'];
const FILE_OPS = ['getFile', 'addFile', 'updateFile'];
const UNSET = 'v1 returns null for an unset link or optional value; the schema types it non-nullable';

export const V1_DEVIATIONS: readonly V1Deviation[] = [
  // Shapes the spec gets wrong against observed behaviour and its own examples.
  { ops: ['getRecents'], at: 'data[]@user', fields: ['data'], relax: 'array-of', reason: 'recents `user` items carry data as an array of one user in practice (singer, airbyte, doc §b9)' },
  { ops: ['getPermissionSet'], at: '', fields: ['*'], relax: 'wrapped', reason: 'the schema describes the bare permission set; responses (and the example) wrap it in {success, data}' },
  { ops: ['getLead'], status: '404', at: '', fields: ['data', 'additional_data'], relax: 'nullable', reason: 'observed v1 error bodies carry data: null and additional_data: null' },
  ...[['getActivityTypes', 'data[]'], ['addActivityType', 'data'], ['updateActivityType', 'data'], ['deleteActivityType', 'data'], ['getRecents', 'data[]@activityType.data'],
    ['getDealFields', 'data[]'], ['getPersonFields', 'data[]'], ['getOrganizationFields', 'data[]'], ['getActivityFields', 'data[]'], ['getLeadFields', 'data[]'],
    ['getDealField', 'data'], ['getPersonField', 'data'], ['getOrganizationField', 'data'], ['getProductField', 'data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['add_time', 'update_time'], relax: 'any-format',
    reason: 'typed format: date-time, but v1 sends `YYYY-MM-DD HH:MM:SS` here, as the spec\'s own examples show',
  })),
  ...[['getDealFields', 'data[]'], ['getPersonFields', 'data[]'], ['getOrganizationFields', 'data[]'], ['getActivityFields', 'data[]'], ['getProductFields', 'data[]'],
    ['getDealField', 'data'], ['getPersonField', 'data'], ['getOrganizationField', 'data'], ['getProductField', 'data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['field_type'], relax: 'any-enum',
    reason: 'the enum lists the types a custom field can be created with; built-in fields have others (int, status, stage, price_list, ...)',
  })),
  ...[['getProductFields', 'data[]'], ['getProductField', 'data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['created_by_user_id', 'last_updated_by_user_id', 'options'], relax: 'nullable',
    reason: 'built-in fields have no creator and fields without options carry options: null, as the other *Fields schemas and examples allow',
  })),
  { ops: ['getLeadFields'], at: 'data[]', fields: ['field_type'], relax: 'any-enum', reason: 'leads list the deal custom fields, whose types include int (in the dealFields enum, missing from this one)' },
  ...[['getGoals', 'data.goals[].type.params'], ['addGoal', 'data.goal.type.params'], ['updateGoal', 'data.goal.type.params'], ['getGoalResult', 'data.goal.type.params']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['pipeline_id'], relax: 'nullable', reason: 'null means all pipelines (the request side documents "an array of pipeline IDs or null")',
  })),
  ...[['getDealMailMessages', 'data[].data'], ['getMailMessage', 'data']].flatMap(([op, at]) => ['from[]', 'to[]', 'cc[]'].map((list): V1Deviation => ({
    ops: [op!], at: `${at!}.${list}`, fields: ['linked_person_id'], relax: 'nullable', reason: 'a party that is no contact (e.g. the user\'s own address) has no linked person',
  }))),
  ...['to[]', 'from[]'].map((list): V1Deviation => ({
    ops: ['getMailThreads'], at: `data[].parties.${list}`, fields: ['linked_person_id'], relax: 'nullable', reason: 'a party that is no contact (e.g. the user\'s own address) has no linked person',
  })),
  ...[['getUsers', 'data[]'], ['getUser', 'data'], ['getCurrentUser', 'data'], ['addUser', 'data'], ['updateUser', 'data'], ['getRecents', 'data[]@user.data[]']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['last_login'], relax: 'nullable', reason: 'a user who never logged in (e.g. just added) has no last login',
  })),
  { ops: ['getProjects', 'getTasks', 'getDealChangelog'], at: 'additional_data', fields: ['next_cursor'], relax: 'nullable', reason: 'null at the end of the list, as every cursor endpoint documents' },
  ...[['getDealParticipants', 'data[]'], ['addDealParticipant', 'data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['added_by_user_id'], relax: 'integer',
    reason: 'typed as a whole GetUserResponse ({success, data: user}); v1 sends the user\'s id, as every other *_user_id field (Fivetran\'s participant tables keep it as an id)',
  })),
  // Unset values are null.
  ...[...NOTE_OPS.map((op) => [op, 'data']), ['getNotes', 'data[]'], ['getRecents', 'data[]@note.data']].flatMap(([op, at]): V1Deviation[] => [
    { ops: [op!], at: at!, fields: ['deal', 'deal_id', 'lead_id', 'org_id', 'organization', 'person', 'person_id', 'project_id', 'project', 'task_id', 'task'], relax: 'nullable', reason: UNSET },
    { ops: [op!], at: `${at!}.user`, fields: ['icon_url'], relax: 'nullable', reason: 'users without a picture have icon_url null (nullable in the user schema)' },
  ]),
  ...[...FILE_OPS.map((op) => [op, 'data']), ['getFiles', 'data[]'], ['getRecents', 'data[]@file.data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['deal_id', 'person_id', 'org_id', 'product_id', 'activity_id', 'lead_id'], relax: 'nullable', reason: UNSET,
  })),
  ...[['getUserCallLogs', 'data[]'], ['getCallLog', 'data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['activity_id', 'person_id', 'org_id', 'deal_id', 'lead_id', 'subject', 'from_phone_number', 'note'], relax: 'nullable', reason: UNSET,
  })),
  ...[['getProjects', 'data[]'], ['getProject', 'data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['archive_time', 'status_change_time', 'person_id', 'org_id', 'start_date', 'end_date'], relax: 'nullable', reason: UNSET,
  })),
  ...[['getTasks', 'data[]'], ['getTask', 'data']].map(([op, at]): V1Deviation => ({
    ops: [op!], at: at!, fields: ['marked_as_done_time', 'parent_task_id', 'assignee_id', 'due_date'], relax: 'nullable', reason: UNSET,
  })),
  { ops: ['getRecents'], at: 'data[]@deal.data', fields: ['person_id', 'org_id', 'stage_change_time', 'won_time', 'first_won_time', 'lost_time', 'expected_close_date', 'label', 'person_name', 'org_name', 'stage_order_nr'], relax: 'nullable', reason: UNSET },
  { ops: ['getRecents'], at: 'data[]@activity.data', fields: ['deal_id', 'person_id', 'org_id', 'due_date', 'due_time', 'duration', 'marked_as_done_time', 'note', 'public_description', 'conference_meeting_client', 'conference_meeting_url', 'conference_meeting_id'], relax: 'nullable', reason: UNSET },
  { ops: ['getRecents'], at: 'data[]@person.data', fields: ['org_id'], relax: 'nullable', reason: UNSET },
  { ops: ['getRecents'], at: 'data[]@product.data', fields: ['description', 'code', 'unit', 'category'], relax: 'nullable', reason: UNSET },
];

/** v1 differences that need no schema change (the schemas allow extra properties); listed for the record. */
export const V1_EXTRAS: Record<string, string> = {
  'additional_data.pagination.next_start': 'every offset list sends it while more items remain; the spec schema omits it (doc §b1)',
  'getLeads/getDealUpdates/getDealMailMessages additional_data.pagination': 'the schemas put start/limit/more_items at additional_data; the spec\'s own examples (flow, mailMessages) and clients use additional_data.pagination, like every v1 list',
  'getRecents additional_data.since_timestamp': 'the effective lower bound: the requested value, or now − 30 days when the request reached further back',
  'goals responses statusCode/statusText/service': 'as the spec\'s goal examples show',
};

/**
 * v2 entities beside deals (v2-conformance.test.ts): fields the schema types non-nullable that are
 * null in responses. `fields` name properties of the response items (`address.*`: every part of the
 * address object); `list: true` names properties of the list's additional_data instead.
 */
export interface V2Deviation {
  ops: readonly string[];
  fields: readonly string[];
  list?: true;
  reason: string;
}

const V2_UNSET = 'null when the item has no such link or value (v2 returns null for unset fields; the schema types them non-nullable)';
const personOps = ['getPersons', 'getPerson', 'addPerson', 'updatePerson'];
const orgOps = ['getOrganizations', 'getOrganization', 'addOrganization', 'updateOrganization'];
const activityOps = ['getActivities', 'getActivity', 'addActivity', 'updateActivity'];
// getProducts is left out: its list schema wraps items (see V2_EXTRA_FIELDS); items are checked as getProduct data.
const productOps = ['getProduct', 'addProduct', 'updateProduct'];
const dealFieldOps = ['getDealFields', 'getDealField', 'addDealField', 'updateDealField', 'deleteDealField'];

export const V2_DEVIATIONS: readonly V2Deviation[] = [
  {
    ops: ['getPersons', 'getOrganizations', 'getActivities', 'getProducts', 'getPipelines', 'getStages', 'getDealProducts', 'getDealsProducts', 'getDealFollowers', 'getDealFields', 'getPersonFields', 'getOrganizationFields', 'getProductFields', 'getActivityFields'],
    fields: ['next_cursor'], list: true,
    reason: 'schema says string, its own description says "null if you have reached the end of the dataset" (as for deals)',
  },
  { ops: personOps, fields: ['org_id', 'first_name', 'last_name', 'picture_id'], reason: V2_UNSET },
  {
    ops: personOps, fields: ['postal_address', 'notes', 'birthday', 'job_title'],
    reason: 'contact-sync fields: the simulated company has contact sync on, so they are returned, null when unset',
  },
  { ops: orgOps, fields: ['address', 'address.*'], reason: 'no address, or an address with only some parts known (e.g. just `value`): unset parts are null' },
  {
    ops: activityOps,
    fields: ['deal_id', 'lead_id', 'person_id', 'org_id', 'project_id', 'due_date', 'due_time', 'duration', 'marked_as_done_time',
      'location', 'location.*', 'conference_meeting_client', 'conference_meeting_url', 'conference_meeting_id', 'public_description',
      'priority', 'note', 'attendees[].name', 'attendees[].status', 'attendees[].person_id', 'attendees[].user_id'],
    reason: V2_UNSET,
  },
  { ops: productOps, fields: ['code', 'unit'], reason: V2_UNSET },
  { ops: dealFieldOps, fields: ['description'], reason: 'fields without a description (every built-in one here) carry null' },
];

/** v2 fields returned that the item schemas do not list ("<entity>.<field>"), with why. */
export const V2_EXTRA_FIELDS: Record<string, string> = {
  'activity.custom_fields': 'activityFields lists custom activity fields (the spec example has one) and Fivetran ACTIVITY has custom_* columns; values need a place, the same as on every other entity',
  'product.description': 'in every v2 product example; a Fivetran PRODUCT column',
  'product.category': 'in every v2 product example; a Fivetran PRODUCT column (STRING)',
  'product.add_time': 'in every v2 product example; needed to sort by add_time, as the list allows',
  'product.update_time': 'in every v2 product example; the incremental cursor (sort_by=update_time, updated_since in SDK 33.7.0)',
  'field.description': 'only the dealFields schemas list it; the activityFields example shows it too, so every catalog returns it (null when unset)',
  'installments additional_data.next_cursor': 'getInstallments takes cursor and limit, but its schema has no additional_data; sent as on every cursor list',
  'getProducts.items': 'the list schema describes each item as {success, data: product}; the example (and every other list) returns the products themselves, so items are validated as getProduct data',
};

/**
 * OAuth (oauth.test.ts): the v1 spec covers the token answers (`get-tokens`, `refresh-tokens`, validated
 * as they are) and the authorize request; the rest is modelled on Pipedrive's guides, each choice here.
 */
export const OAUTH_DEVIATIONS: Record<string, string> = {
  host: 'Pipedrive serves OAuth from https://oauth.pipedrive.com; the simulator serves /oauth/* on its own host (PIPEDRIVE_OAUTH_URL = the simulator URL)',
  revoke: 'POST /oauth/revoke is not in the spec; per Pipedrive\'s "app uninstallation" guide it conforms to RFC 7009 (basic client auth, token + token_type_hint, 200)',
  'revoke refresh token': 'ends the whole grant, its access tokens included (RFC 7009 §2.1 SHOULD; Pipedrive: revoking marks the app uninstalled)',
  'token errors': 'not in the spec; bodies {success: false, message, error} as in Pipedrive\'s own SDK tests, messages from the "OAuth status codes" guide; invalid client with basic auth is 401 (RFC 6749 §5.2)',
  'refresh rotation': 'the spec returns refresh_token on refresh and the status-code guide refuses one "already exchanged": each refresh rotates it (rotateRefreshTokens: false keeps it, with the 60-day idle expiry reset on use)',
  'authorize page': 'a minimal consent form (Allow and install / Cancel) standing in for Pipedrive\'s page; a denial redirects with error=access_denied (RFC 6749 §4.1.2.1; Pipedrive only says "the corresponding error")',
  'API 401 for OAuth': '{success: false, error: "Invalid token: access token has expired" | "… is invalid", errorCode: 401, error_info}: the API-token 401 envelope with the OAuth messages of the status-code guide; a malformed Authorization header is 400',
  scopes: 'reported in token answers, not enforced',
};
