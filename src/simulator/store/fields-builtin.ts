/**
 * Built-in (non-custom) fields of each entity, as the *Fields endpoints list them before the custom
 * ones: short keys, Pipedrive's field types, and the subfields of composite fields.
 */

/** Every field_type the v2 *Fields endpoints report. */
export const FIELD_TYPES = [
  'int', 'double', 'boolean', 'varchar', 'text', 'phone', 'varchar_options', 'varchar_auto', 'date', 'daterange',
  'time', 'timerange', 'enum', 'set', 'address', 'monetary', 'deal', 'deals', 'lead', 'org', 'people', 'project',
  'stage', 'user', 'activity', 'json', 'picture', 'status', 'visible_to', 'price_list', 'billing_frequency',
  'projects_board', 'projects_phase',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** The types a custom field may be created with (v2 addDealField etc.). */
export const ADDABLE_FIELD_TYPES = [
  'varchar', 'text', 'double', 'phone', 'date', 'daterange', 'time', 'timerange', 'set', 'enum', 'varchar_auto',
  'address', 'monetary', 'org', 'people', 'user',
] as const satisfies readonly FieldType[];

export type FieldEntity = 'deal' | 'person' | 'organization' | 'product' | 'activity';
export const FIELD_ENTITIES: readonly FieldEntity[] = ['deal', 'person', 'organization', 'product', 'activity'];

export interface SubfieldDef {
  readonly key: string;
  readonly name: string;
  readonly field_type: string;
}

/** [key, name, type] — plus optional: returned only on request (v2 is_optional_response_field). */
type Builtin = readonly [key: string, name: string, type: FieldType, optional?: true];

const ADDRESS_PARTS: readonly (readonly [string, string])[] = [
  ['value', 'Address value'], ['street_number', 'House number'], ['route', 'Street/road name'],
  ['subpremise', 'Apartment/suite'], ['sublocality', 'District/sublocality'], ['locality', 'City/town/village/locality'],
  ['admin_area_level_1', 'State/county'], ['admin_area_level_2', 'Region'], ['country', 'Country'],
  ['postal_code', 'ZIP/Postal code'], ['formatted_address', 'Full/combined address'],
];

/** Subfields of composite types, named after their parent as Pipedrive does. */
export function subfieldsOf(type: string, parentName: string): SubfieldDef[] | null {
  switch (type) {
    case 'monetary':
      return [
        { key: 'value', name: `Amount of ${parentName}`, field_type: 'double' },
        { key: 'currency', name: `Currency of ${parentName}`, field_type: 'varchar' },
      ];
    case 'address':
      return ADDRESS_PARTS.map(([key, name]) => ({ key, name: `${name} of ${parentName}`, field_type: 'varchar' }));
    case 'daterange':
      return [
        { key: 'value', name: `Start date of ${parentName}`, field_type: 'date' },
        { key: 'until', name: `End date of ${parentName}`, field_type: 'date' },
      ];
    case 'timerange':
      return [
        { key: 'value', name: `Start time of ${parentName}`, field_type: 'time' },
        { key: 'until', name: `End time of ${parentName}`, field_type: 'time' },
        { key: 'timezone_name', name: `Timezone of ${parentName}`, field_type: 'varchar' },
      ];
    case 'time':
      return [
        { key: 'value', name: `Time of ${parentName}`, field_type: 'time' },
        { key: 'timezone_name', name: `Timezone of ${parentName}`, field_type: 'varchar' },
      ];
    default:
      return null;
  }
}

export const BUILTIN_FIELDS: Readonly<Record<FieldEntity, readonly Builtin[]>> = {
  deal: [
    ['id', 'ID', 'int'], ['title', 'Title', 'varchar'], ['creator_user_id', 'Creator', 'user'],
    ['owner_id', 'Owner', 'user'], ['value', 'Value', 'monetary'], ['person_id', 'Contact person', 'people'],
    ['org_id', 'Organization', 'org'], ['pipeline_id', 'Pipeline', 'int'], ['stage_id', 'Stage', 'stage'],
    ['status', 'Status', 'status'], ['probability', 'Probability', 'double'], ['lost_reason', 'Lost reason', 'varchar_options'],
    ['visible_to', 'Visible to', 'visible_to'], ['expected_close_date', 'Expected close date', 'date'],
    ['label_ids', 'Label', 'set'], ['add_time', 'Deal created', 'date'], ['update_time', 'Update time', 'date'],
    ['stage_change_time', 'Last stage change', 'date'], ['close_time', 'Deal closed on', 'date'],
    ['won_time', 'Won time', 'date'], ['lost_time', 'Lost time', 'date'], ['origin', 'Source origin', 'varchar'],
    ['channel', 'Source channel', 'enum'], ['source_lead_id', 'Source lead', 'lead', true],
    ['products_count', 'Number of products', 'int', true], ['activities_count', 'Total activities', 'int', true],
  ],
  person: [
    ['id', 'ID', 'int'], ['name', 'Name', 'varchar'], ['first_name', 'First name', 'varchar'],
    ['last_name', 'Last name', 'varchar'], ['owner_id', 'Owner', 'user'], ['org_id', 'Organization', 'org'],
    ['emails', 'Email', 'varchar'], ['phones', 'Phone', 'phone'], ['label_ids', 'Labels', 'set'],
    ['visible_to', 'Visible to', 'visible_to'], ['picture_id', 'Profile picture', 'picture'],
    ['postal_address', 'Postal address', 'address'], ['birthday', 'Birthday', 'date'], ['job_title', 'Job title', 'varchar'],
    ['notes', 'Notes', 'text'], ['add_time', 'Person created', 'date'], ['update_time', 'Update time', 'date'],
    ['open_deals_count', 'Open deals', 'int', true], ['activities_count', 'Total activities', 'int', true],
  ],
  organization: [
    ['id', 'ID', 'int'], ['name', 'Name', 'varchar'], ['owner_id', 'Owner', 'user'], ['address', 'Address', 'address'],
    ['label_ids', 'Labels', 'set'], ['visible_to', 'Visible to', 'visible_to'],
    ['add_time', 'Organization created', 'date'], ['update_time', 'Update time', 'date'],
    ['people_count', 'People', 'int', true], ['open_deals_count', 'Open deals', 'int', true],
  ],
  product: [
    ['id', 'ID', 'int'], ['name', 'Name', 'varchar'], ['code', 'Product code', 'varchar'],
    ['description', 'Description', 'text'], ['unit', 'Unit', 'varchar'], ['tax', 'Tax', 'double'],
    ['category', 'Category', 'enum'], ['owner_id', 'Owner', 'user'], ['is_linkable', 'Linkable to deals', 'boolean'],
    ['visible_to', 'Visible to', 'visible_to'], ['prices', 'Price', 'price_list'],
    ['billing_frequency', 'Billing frequency', 'billing_frequency'], ['add_time', 'Product created', 'date'],
    ['update_time', 'Update time', 'date'],
  ],
  activity: [
    ['id', 'ID', 'int'], ['subject', 'Subject', 'varchar'], ['type', 'Type', 'varchar_options'],
    ['owner_id', 'Assigned to user', 'user'], ['creator_user_id', 'Creator', 'user'], ['deal_id', 'Deal', 'deal'],
    ['lead_id', 'Lead', 'lead'], ['person_id', 'Contact person', 'people'], ['org_id', 'Organization', 'org'],
    ['project_id', 'Project', 'project'], ['due_date', 'Due date', 'date'], ['due_time', 'Due time', 'time'],
    ['duration', 'Duration', 'time'], ['busy', 'Free/busy', 'boolean'], ['done', 'Done', 'boolean'],
    ['location', 'Location', 'address'], ['public_description', 'Public description', 'text'],
    ['priority', 'Priority', 'enum'], ['note', 'Note', 'text'], ['add_time', 'Add time', 'date'],
    ['update_time', 'Update time', 'date'], ['marked_as_done_time', 'Marked as done time', 'date'],
    ['attendees', 'Attendees', 'json', true],
  ],
};
