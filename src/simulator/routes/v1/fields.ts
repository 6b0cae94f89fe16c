/**
 * v1 *Fields (offset-paginated): getDealFields, getPersonFields, getOrganizationFields,
 * getProductFields, getActivityFields, getLeadFields, getNoteFields, and get-one for deal, person,
 * organization and product fields. Definitions come from the field catalog (store.fields) and are
 * presented in the v1 shape (id, key, name, field_type, options, active_flag, edit_flag, ...).
 * Leads have no catalog: their fields are the lead built-ins plus the deal custom fields.
 */
import express, { type RequestHandler, type Router } from 'express';
import { sendData } from '../../http/envelope.ts';
import { pathId } from '../../http/params.ts';
import type { FieldDef } from '../../store/fields.ts';
import type { FieldEntity } from '../../store/fields-builtin.ts';
import type { SimStore } from '../../store/index.ts';
import { formatV1, notFound, offsetParams, sendPage, slicePage } from './common.ts';

/** field_type values the v1 enum lacks → their v1 equivalent. */
const V1_TYPES: Record<string, string> = { deals: 'deal' };

export function presentField(d: Readonly<FieldDef>): Record<string, unknown> {
  return {
    id: d.id, key: d.key, name: d.name, order_nr: d.orderNr, field_type: V1_TYPES[d.field_type] ?? d.field_type,
    add_time: formatV1(d.addSec), update_time: formatV1(d.updateSec), last_updated_by_user_id: d.lastUpdatedByUserId,
    created_by_user_id: d.createdByUserId, active_flag: d.deletedSec === null, edit_flag: d.isCustom, index_visible_flag: true,
    details_visible_flag: d.ui.details_visible_flag, add_visible_flag: d.ui.add_visible_flag, important_flag: d.important.enabled,
    bulk_edit_allowed: true, searchable_flag: d.isCustom && ['varchar', 'text', 'varchar_auto', 'phone'].includes(d.field_type),
    filtering_allowed: true, sortable_flag: true, mandatory_flag: d.required.enabled,
    options: d.options?.map((o) => ({ id: o.id, label: o.label })) ?? null,
    ...(d.deletedOptions.length > 0 ? { options_deleted: d.deletedOptions.map((o) => ({ id: o.id, label: o.label })) } : {}),
    ...(d.subfields ? { subfields: d.subfields.map((s) => ({ key: `${d.key}_${s.key}`, name: s.name, field_type: s.field_type })) } : {}),
  };
}

type Built = readonly [key: string, name: string, type: string, options?: readonly string[]];

const LEAD_BUILTINS: readonly Built[] = [
  ['title', 'Title', 'varchar'], ['owner_id', 'Owner', 'user'], ['person_id', 'Person', 'people'], ['organization_id', 'Organization', 'org'],
  ['value', 'Value', 'monetary'], ['expected_close_date', 'Expected close date', 'date'], ['label_ids', 'Labels', 'set'],
  ['source_name', 'Source', 'varchar'], ['visible_to', 'Visible to', 'visible_to'], ['add_time', 'Lead created', 'date'],
  ['update_time', 'Update time', 'date'],
];
const NOTE_BUILTINS: readonly Built[] = [
  ['content', 'Content', 'text'], ['pinned_to_deal_flag', 'Note is pinned to deal', 'enum', ['No', 'Yes']],
  ['pinned_to_person_flag', 'Note is pinned to person', 'enum', ['No', 'Yes']],
  ['pinned_to_organization_flag', 'Note is pinned to organization', 'enum', ['No', 'Yes']],
  ['pinned_to_lead_flag', 'Note is pinned to lead', 'enum', ['No', 'Yes']],
];

/** Fixed built-in fields outside the catalog (ids from 9000 so they never meet catalog ids). */
function builtins(list: readonly Built[], base: number, sec: number): Record<string, unknown>[] {
  return list.map(([key, name, type, options], i) => ({
    id: base + i, key, name, order_nr: i + 1, field_type: type, add_time: formatV1(sec), update_time: formatV1(sec),
    last_updated_by_user_id: null, created_by_user_id: null, active_flag: true, edit_flag: false, index_visible_flag: true,
    details_visible_flag: true, add_visible_flag: true, important_flag: false, bulk_edit_allowed: true, searchable_flag: false,
    filtering_allowed: true, sortable_flag: true, mandatory_flag: key === 'title' || key === 'content',
    options: options ? options.map((label, id) => ({ id, label })) : null,
  }));
}

const CATALOG: readonly [path: string, op: string, getOp: string | null, entity: FieldEntity][] = [
  ['/dealFields', 'getDealFields', 'getDealField', 'deal'],
  ['/personFields', 'getPersonFields', 'getPersonField', 'person'],
  ['/organizationFields', 'getOrganizationFields', 'getOrganizationField', 'organization'],
  ['/productFields', 'getProductFields', 'getProductField', 'product'],
  ['/activityFields', 'getActivityFields', null, 'activity'],
];

export function fieldRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const sinceAccount = (): number => store.v1.users.get(1)?.addSec ?? store.clock.nowSeconds();

  for (const [path, op, getOp, entity] of CATALOG) {
    r.get(path, operation(op), (req, res) => {
      const p = offsetParams(req);
      const { items, more } = slicePage(store.fields.list(entity), p);
      sendPage(res, items.map(presentField), p, more);
    });
    if (getOp) {
      r.get(`${path}/:id`, operation(getOp), (req, res) => {
        const def = store.fields.getById(entity, pathId(req));
        if (!def) throw notFound('Field');
        sendData(res, presentField(def));
      });
    }
  }

  r.get('/leadFields', operation('getLeadFields'), (req, res) => {
    const p = offsetParams(req);
    const all = [...builtins(LEAD_BUILTINS, 9000, sinceAccount()), ...store.fields.custom('lead').map(presentField)];
    const { items, more } = slicePage(all, p);
    sendPage(res, items, p, more);
  });

  r.get('/noteFields', operation('getNoteFields'), (req, res) => {
    const p = offsetParams(req);
    // Note fields are leaner (the spec's example): no times or flags beyond these; options only on enums.
    const lean = builtins(NOTE_BUILTINS, 9500, sinceAccount()).map(({ id, key, name, field_type, active_flag, edit_flag, bulk_edit_allowed, mandatory_flag, options }) =>
      ({ id, key, name, field_type, active_flag, edit_flag, bulk_edit_allowed, mandatory_flag, ...(options === null ? {} : { options }) }));
    const { items, more } = slicePage(lean, p);
    sendPage(res, items, p, more);
  });

  return r;
}
