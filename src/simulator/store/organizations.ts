/** v2 organizations. Field set and order: the getOrganizations response schema. */
import { formatV2 } from '../time.ts';
import { ACCOUNT } from './account.ts';
import type { EntityModel } from './entity-store.ts';
import { EMPTY_CUSTOM, EMPTY_IDS, defined, mergeCustom, type Address } from './model-kit.ts';
import type { Row } from './table.ts';

export interface OrganizationRecord {
  readonly name: string;
  readonly owner_id: number;
  readonly is_deleted: boolean;
  readonly visible_to: number;
  readonly address: Address | null;
  readonly label_ids: readonly number[];
  readonly custom_fields: Readonly<Record<string, unknown>>;
}

export interface OrganizationChanges {
  name?: string;
  owner_id?: number;
  visible_to?: number;
  address?: Address | null;
  label_ids?: readonly number[];
  custom_fields?: Readonly<Record<string, unknown>>;
}

export const ORGANIZATION_FIELDS = [
  'id', 'name', 'owner_id', 'add_time', 'update_time', 'is_deleted', 'visible_to', 'address', 'label_ids', 'custom_fields',
] as const;

export function makeOrganization(f: OrganizationRecord): OrganizationRecord {
  return {
    name: f.name, owner_id: f.owner_id, is_deleted: f.is_deleted, visible_to: f.visible_to, address: f.address,
    label_ids: f.label_ids, custom_fields: f.custom_fields,
  };
}

export const organizationModel: EntityModel<OrganizationRecord, OrganizationChanges> = {
  itemType: 'organization',
  create(ch) {
    return organizationModel.apply(makeOrganization({
      name: '', owner_id: ACCOUNT.tokenUserId, is_deleted: false, visible_to: 3, address: null, label_ids: EMPTY_IDS,
      custom_fields: EMPTY_CUSTOM,
    }), ch);
  },
  apply(prev, ch) {
    const { custom_fields, ...plain } = ch;
    return makeOrganization({ ...prev, ...defined(plain), custom_fields: mergeCustom(prev.custom_fields, custom_fields) });
  },
  markDeleted: (prev) => makeOrganization({ ...prev, is_deleted: true }),
  present: (row: Row<OrganizationRecord>) => {
    const o = row.data;
    return {
      id: row.id, name: o.name, owner_id: o.owner_id, add_time: formatV2(row.addSec), update_time: formatV2(row.updateSec),
      is_deleted: o.is_deleted, visible_to: o.visible_to, address: o.address, label_ids: o.label_ids,
      custom_fields: o.custom_fields,
    };
  },
  customFields: (r) => r.custom_fields,
  withCustomFields: (r, values) => makeOrganization({ ...r, custom_fields: values }),
};
