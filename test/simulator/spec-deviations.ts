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
