/**
 * Custom field values in their v2 shapes: checking and normalizing what a write sends, generating
 * seeded values, and labelling options on request.
 *
 *   varchar, text, varchar_auto, phone → string      double → number      int → integer
 *   monetary → {value, currency}                     date → "YYYY-MM-DD"
 *   daterange → {value, until}                       time → {value: "HH:MM:SS", timezone_name}
 *   timerange → {value, until, timezone_name}        enum → option id      set → option id[]
 *   user, org, people → id                           address → {value, street_number, ..., formatted_address}
 */
import type { Rng } from '../prng.ts';
import { formatDate, isDateOnly } from '../time.ts';
import { ACCOUNT } from './account.ts';
import { WriteRefused } from './errors.ts';
import type { FieldType } from './fields-builtin.ts';

/** A custom field value of the wrong shape, or an unknown key: a 400. */
export class InvalidFieldValue extends WriteRefused {
  constructor(message: string) {
    super(400, message);
    this.name = 'InvalidFieldValue';
  }
}

/** What a value check needs to know about its field. */
export interface ValueField {
  readonly key: string;
  readonly field_type: FieldType;
  readonly options: readonly { readonly id: number; readonly label: string }[] | null;
}

export const ADDRESS_KEYS = [
  'value', 'street_number', 'route', 'subpremise', 'sublocality', 'locality', 'admin_area_level_1',
  'admin_area_level_2', 'country', 'postal_code', 'formatted_address',
] as const;
export type AddressValue = Record<(typeof ADDRESS_KEYS)[number], string | null>;

const TIME = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A v2 write value → the stored value (null clears). Throws InvalidFieldValue naming the field. */
export function normalizeValue(field: ValueField, v: unknown): unknown {
  if (v === null) return null;
  const fail = (what: string): InvalidFieldValue => new InvalidFieldValue(`Validation failed: custom_fields.${field.key}: Expected ${what}`);
  const optionIds = new Set((field.options ?? []).map((o) => o.id));
  switch (field.field_type) {
    case 'varchar': case 'text': case 'varchar_auto': case 'phone': case 'varchar_options':
      if (typeof v !== 'string') throw fail('string');
      return v;
    case 'double':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw fail('number');
      return v;
    case 'int':
      if (!Number.isSafeInteger(v)) throw fail('integer');
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw fail('boolean');
      return v;
    case 'monetary': {
      if (!isObject(v) || typeof v['value'] !== 'number' || !Number.isFinite(v['value'])) throw fail('{value: number, currency}');
      const currency = v['currency'] ?? ACCOUNT.defaultCurrency;
      if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw fail('currency as a 3-letter code');
      return { value: v['value'], currency };
    }
    case 'date':
      if (typeof v !== 'string' || !isDateOnly(v)) throw fail('date YYYY-MM-DD');
      return v;
    case 'daterange': {
      if (!isObject(v) || !isDate(v['value']) || !isDate(v['until'])) throw fail('{value: YYYY-MM-DD, until: YYYY-MM-DD}');
      if (v['until'] < v['value']) throw fail('until on or after value');
      return { value: v['value'], until: v['until'] };
    }
    case 'time': {
      const t = isObject(v) ? v['value'] : v;
      if (typeof t !== 'string' || !TIME.test(t)) throw fail('{value: HH:MM:SS, timezone_name}');
      return { value: seconds(t), timezone_name: timezoneOf(v, fail) };
    }
    case 'timerange': {
      if (!isObject(v) || typeof v['value'] !== 'string' || typeof v['until'] !== 'string' || !TIME.test(v['value']) || !TIME.test(v['until'])) {
        throw fail('{value: HH:MM:SS, until: HH:MM:SS, timezone_name}');
      }
      return { value: seconds(v['value']), until: seconds(v['until']), timezone_name: timezoneOf(v, fail) };
    }
    case 'enum':
      if (!Number.isSafeInteger(v) || !optionIds.has(v as number)) throw fail('the id of one of its options');
      return v;
    case 'set':
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isSafeInteger(x) && optionIds.has(x as number))) {
        throw fail('a non-empty array of its option ids (null clears)');
      }
      return [...new Set(v as number[])];
    case 'user': case 'org': case 'people': case 'deal': case 'stage': case 'project': case 'activity':
      if (!Number.isSafeInteger(v) || (v as number) < 1) throw fail('an id');
      return v;
    case 'address':
      return normalizeAddress(v, fail);
    default:
      return v;
  }
}

const isDate = (v: unknown): v is string => typeof v === 'string' && isDateOnly(v);
const seconds = (t: string): string => (t.length === 5 ? `${t}:00` : t);

function timezoneOf(v: unknown, fail: (what: string) => Error): string {
  const tz = isObject(v) ? (v['timezone_name'] ?? 'UTC') : 'UTC';
  if (typeof tz !== 'string') throw fail('timezone_name as a string');
  return tz;
}

function normalizeAddress(v: unknown, fail: (what: string) => Error): AddressValue {
  const src: Json = typeof v === 'string' ? { value: v } : isObject(v) ? v : {};
  if (typeof src['value'] !== 'string') throw fail('an address string or {value, ...}');
  const out = {} as AddressValue;
  for (const k of ADDRESS_KEYS) {
    const part = src[k] ?? null;
    if (part !== null && typeof part !== 'string') throw fail(`address part ${k} as a string`);
    out[k] = part;
  }
  out.formatted_address ??= out.value;
  return out;
}

/** enum/set values as {id, label} objects (include_option_labels=true). */
export function labelOptions(field: ValueField, value: unknown): unknown {
  const label = (id: unknown) => ({ id, label: field.options?.find((o) => o.id === id)?.label ?? null });
  if (field.field_type === 'enum' && typeof value === 'number') return label(value);
  if (field.field_type === 'set' && Array.isArray(value)) return value.map(label);
  return value;
}

const WORDS = ['alpha', 'bravo', 'north', 'south', 'priority', 'partner', 'renewal', 'referral', 'inbound', 'legacy'];
const CITIES = [['Tallinn', 'EE'], ['Berlin', 'DE'], ['Austin', 'US'], ['Lisbon', 'PT'], ['Toronto', 'CA']] as const;
const TIMEZONES = ['UTC', 'Europe/Tallinn', 'America/New_York'] as const;

/** A plausible seeded value for a field; `refs` bounds generated ids (persons, orgs). */
export function generateValue(rng: Rng, field: ValueField, nowSec: number, refs: { persons: number; orgs: number }): unknown {
  const day = (): string => formatDate(nowSec - rng.int(0, 400) * 86400);
  const time = (): string => `${String(rng.int(8, 18)).padStart(2, '0')}:${rng.pick(['00', '15', '30', '45'])}:00`;
  const ids = (field.options ?? []).map((o) => o.id);
  switch (field.field_type) {
    case 'varchar': case 'text': case 'varchar_auto': return rng.pick(WORDS);
    case 'phone': return rng.pick(['+372 5555 0101', '+1 512 555 0142', '+49 30 5555 0199']);
    case 'double': return rng.int(0, 10_000) / 4;
    case 'int': return rng.int(0, 1000);
    case 'monetary': return { value: rng.int(1, 200) * 50, currency: rng.pick(['USD', 'EUR', 'GBP']) };
    case 'date': return day();
    case 'daterange': {
      const start = nowSec - rng.int(0, 400) * 86400;
      return { value: formatDate(start), until: formatDate(start + rng.int(1, 60) * 86400) };
    }
    case 'time': return { value: time(), timezone_name: rng.pick(TIMEZONES) };
    case 'timerange': { const a = time(); return { value: a, until: a.replace(/^\d\d/, (h) => String(Math.min(23, Number(h) + 1)).padStart(2, '0')), timezone_name: rng.pick(TIMEZONES) }; }
    case 'enum': return ids.length ? rng.pick(ids) : null;
    case 'set': return ids.length ? [...new Set([rng.pick(ids), rng.pick(ids)])].sort((a, b) => a - b) : null;
    case 'user': return rng.pick(ACCOUNT.userIds);
    case 'org': return refs.orgs > 0 ? rng.int(1, refs.orgs) : null;
    case 'people': return refs.persons > 0 ? rng.int(1, refs.persons) : null;
    case 'address': {
      const [city, country] = rng.pick(CITIES);
      const n = String(rng.int(1, 99));
      const value = `${n} Main St, ${city}, ${country}`;
      return { value, street_number: n, route: 'Main St', subpremise: null, sublocality: null, locality: city, admin_area_level_1: null, admin_area_level_2: null, country, postal_code: null, formatted_address: value };
    }
    case 'boolean': return rng.chance(0.5);
    default: return null;
  }
}
