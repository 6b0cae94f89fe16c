/**
 * v2-shaped objects → v1 shapes. v1 has no `custom_fields` object: custom values sit flat at the
 * root (monetary → `<key>` + `<key>_currency`, ranges → `<key>_until`, address → `<key>_<part>`,
 * set → comma-separated ids, enum → option id as a string). Times become `YYYY-MM-DD HH:MM:SS`,
 * `is_deleted` becomes `active_flag` (pipelines: `active`), and per-entity renames follow the v2
 * migration guide (e.g. stage is_deal_rot_enabled → rotten_flag).
 */
import type { FieldStore } from '../../store/fields.ts';
import type { FieldEntity } from '../../store/fields-builtin.ts';
import type { SimStore } from '../../store/index.ts';
import { isoToV1 } from './common.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One custom value in v1 flat form: the entries it contributes to the parent object. */
export function flatValue(key: string, value: unknown, fieldType: string | undefined): [string, unknown][] {
  if (value === null || value === undefined) return [[key, null]];
  if (Array.isArray(value)) return [[key, value.join(',')]];
  if (fieldType === 'enum' && typeof value === 'number') return [[key, String(value)]];
  if (!isObject(value)) return [[key, value]];
  if ('currency' in value) return [[key, value['value'] ?? null], [`${key}_currency`, value['currency'] ?? null]];
  if ('formatted_address' in value || 'street_number' in value) {
    return Object.entries(value).map(([part, v]): [string, unknown] => [part === 'value' ? key : `${key}_${part}`, v ?? null]);
  }
  const out: [string, unknown][] = [[key, value['value'] ?? null]];
  if ('until' in value) out.push([`${key}_until`, value['until'] ?? null]);
  if ('timezone_name' in value) out.push([`${key}_timezone_name`, value['timezone_name'] ?? null]);
  return out;
}

export function flattenCustom(values: unknown, entity: FieldEntity | 'lead', fields: FieldStore): Json {
  if (!isObject(values)) return {};
  const out: Json = {};
  for (const [key, v] of Object.entries(values)) {
    for (const [k, x] of flatValue(key, v, fields.get(entity, key)?.field_type)) out[k] = x;
  }
  return out;
}

/** Address object → `<prefix>` (formatted) + `<prefix>_<part>` keys, all strings. */
function flatAddress(prefix: string, a: unknown): Json {
  const src = isObject(a) ? a : {};
  const parts = ['subpremise', 'street_number', 'route', 'sublocality', 'locality', 'admin_area_level_1', 'admin_area_level_2', 'country', 'postal_code', 'formatted_address'];
  const out: Json = { [prefix]: (src['value'] as string | undefined) ?? '' };
  for (const p of parts) out[`${prefix}_${p}`] = (src[p] as string | undefined) ?? '';
  return out;
}

const timesToV1 = (o: Json): Json => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, isoToV1(v)]));

export type V2ItemType = 'person' | 'organization' | 'activity' | 'product' | 'pipeline' | 'stage';

/** A v2 entity's response object → its v1 (recents, flow) shape. */
export function toV1(item: V2ItemType, v2: Json, store: SimStore): Json {
  const { custom_fields: custom, is_deleted, ...rest } = v2;
  const base = timesToV1(rest);
  const flat = item === 'pipeline' || item === 'stage' ? {} : flattenCustom(custom, item, store.fields);
  const owner = typeof v2['owner_id'] === 'number' ? store.v1.users.get(v2['owner_id']) : undefined;
  const ownerName = owner?.data.name ?? '';
  const active = is_deleted !== true;
  switch (item) {
    case 'person': {
      const { emails, phones, picture_id: _p, postal_address: _a, im: _im, notes: _n, ...p } = base;
      return {
        ...p, company_id: 1, active_flag: active, email: emails ?? [], phone: phones ?? [], first_char: String(p['name'] ?? '').charAt(0).toLowerCase(),
        visible_to: String(p['visible_to']), owner_name: ownerName, org_name: nameOf(store.organizations, p['org_id']), cc_email: null, ...flat,
      };
    }
    case 'organization': {
      const { address, ...o } = base;
      return {
        ...o, company_id: 1, active_flag: active, visible_to: String(o['visible_to']), first_char: String(o['name'] ?? '').charAt(0).toLowerCase(),
        owner_id: owner ? { id: owner.id, name: ownerName, email: owner.data.email, has_pic: 0, pic_hash: null, active_flag: owner.data.active_flag, value: owner.id } : o['owner_id'],
        owner_name: ownerName, cc_email: 'sim@sim.pipedrivemail.com', ...flatAddress('address', address), ...flat,
      };
    }
    case 'activity': {
      const { owner_id, busy, creator_user_id, participants, location, ...a } = base;
      const list = Array.isArray(participants) ? (participants as Json[]) : [];
      return {
        ...a, user_id: owner_id, assigned_to_user_id: owner_id, created_by_user_id: creator_user_id, busy_flag: busy, active_flag: active,
        participants: list.map((x) => ({ person_id: x['person_id'], primary_flag: x['primary'] === true })),
        ...flatAddress('location', location), owner_name: ownerName, ...flat,
      };
    }
    case 'product': {
      const { is_linkable, ...p } = base;
      return { ...p, active_flag: active, selectable: is_linkable !== false, first_char: String(p['name'] ?? '').charAt(0).toLowerCase(), ...flat };
    }
    case 'pipeline': {
      const { is_deal_probability_enabled, ...p } = base;
      return { ...p, url_title: String(p['name'] ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '-'), active: active, deal_probability: is_deal_probability_enabled };
    }
    case 'stage': {
      const { is_deal_rot_enabled, days_to_rotten, ...s } = base;
      return { ...s, active_flag: active, rotten_flag: is_deal_rot_enabled, rotten_days: days_to_rotten };
    }
  }
}

function nameOf(s: { getRow(id: number): { data: { name: string } } | undefined }, id: unknown): string | null {
  return typeof id === 'number' ? (s.getRow(id)?.data.name ?? null) : null;
}
