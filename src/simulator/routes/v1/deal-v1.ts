/**
 * A stored (v2-shaped) deal in its v1 shape, as recents and flow return it: owner_id → user_id,
 * is_deleted → deleted (+ active), label_ids → label (comma-separated), visible_to as a string, v1
 * times, custom fields flat at the root. Counters Pipedrive derives (notes_count, ...) are left out
 * rather than guessed.
 */
import type { Deal } from '../../store/deal-model.ts';
import type { SimStore } from '../../store/index.ts';
import { isoToV1 } from './common.ts';
import { flattenCustom } from './v1-values.ts';

const v1 = (t: string | null): string | null => (t === null ? null : (isoToV1(t) as string));

export function presentDealV1(d: Deal, store: SimStore): Record<string, unknown> {
  const owner = store.v1.users.get(d.owner_id);
  const stage = store.stages.getRow(d.stage_id)?.data;
  const person = d.person_id === null ? undefined : store.persons.getRow(d.person_id)?.data;
  const org = d.org_id === null ? undefined : store.organizations.getRow(d.org_id)?.data;
  return {
    id: d.id, creator_user_id: d.creator_user_id, user_id: d.owner_id, person_id: d.person_id, org_id: d.org_id,
    stage_id: d.stage_id, title: d.title, value: d.value, currency: d.currency, add_time: v1(d.add_time), update_time: v1(d.update_time),
    stage_change_time: v1(d.stage_change_time), active: d.status === 'open' && !d.is_deleted, deleted: d.is_deleted,
    is_archived: d.is_archived, status: d.status, probability: d.probability, lost_reason: d.lost_reason, visible_to: String(d.visible_to),
    close_time: v1(d.close_time), pipeline_id: d.pipeline_id, won_time: v1(d.won_time), first_won_time: v1(d.won_time),
    lost_time: v1(d.lost_time), expected_close_date: d.expected_close_date, label: d.label_ids.length > 0 ? d.label_ids.join(',') : null,
    stage_order_nr: stage?.order_nr ?? null, person_name: person?.name ?? null, org_name: org?.name ?? null,
    owner_name: owner?.data.name ?? '', cc_email: `sim+deal${d.id}@sim.pipedrivemail.com`, org_hidden: false, person_hidden: false,
    origin: d.origin, origin_id: d.origin_id, channel: d.channel, channel_id: d.channel_id, arr: d.arr, mrr: d.mrr, acv: d.acv,
    ...flattenCustom(d.custom_fields, 'deal', store.fields),
  };
}

/** v2 deal field → v1 field key, for flow/changelog entries. */
export function v1FieldKey(v2Field: string): string {
  return V1_KEYS[v2Field] ?? v2Field;
}

const V1_KEYS: Record<string, string> = { owner_id: 'user_id', is_deleted: 'deleted', label_ids: 'label' };

/** A v2 field value → its v1 form (times, label arrays). */
export function v1Value(v2Field: string, value: unknown): unknown {
  if (v2Field === 'label_ids' && Array.isArray(value)) return value.length > 0 ? value.join(',') : null;
  if (v2Field === 'visible_to' && typeof value === 'number') return String(value);
  return isoToV1(value);
}
