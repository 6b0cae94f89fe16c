import type { ColumnType } from '../../../src/catalog/types.ts';
import type { FieldDef, FieldStore } from '../../../src/simulator/store/fields.ts';
import type { FieldEntity } from '../../../src/simulator/store/fields-builtin.ts';

/**
 * The custom-field columns the differential test expects, derived from the local Pipedrive's field store
 * and the documented rules (docs/ARCHITECTURE.md, "Custom fields"), never from the product's code
 * (src/capture/custom-fields.ts):
 *
 * - a field becomes columns named by the snake case of its name when the producer first saw it, frozen
 *   whatever it is renamed to afterwards;
 * - a name taken by a built-in column, or by an earlier field's columns, gets `_2`, `_3`, … (fields in
 *   order of first sight, ties by key), until none of its columns collides;
 * - monetary → value + `_currency`, date/time ranges → value + `_until`, address → value + one column per
 *   part, enum → label + `_id`, set → labels + `_ids`; one column for every other type, typed by it.
 *
 * Not in the documented list, taken as the record contract (and worth a line in the docs): time and time
 * ranges also carry their timezone as `_timezone`; the address parts are the field's subfields in the
 * local Pipedrive's catalog (`street_number`, `route`, …, `formatted_address`).
 */

/**
 * Lower snake case: camel humps split, accents dropped, anything else than letters and digits → `_`. A name
 * that would start with a digit gets `f_` and an empty one is `field` (assumed: column names must not).
 */
export function snake(name: string): string {
  const ascii = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const words = ascii
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  const s = words.join('_') || 'field';
  return /^[0-9]/.test(s) ? `f_${s}` : s;
}

/** A custom field as the producer first saw it. */
export interface Sighting {
  readonly entity: FieldEntity;
  readonly key: string;
  /** The name at first sight: the column's base name comes from it. */
  readonly name: string;
  readonly fieldType: string;
  /** Which sighting (sync) first saw it: earlier fields win name collisions. */
  readonly order: number;
}

/**
 * Which custom fields existed at each producer run, in the local Pipedrive's own field store: `observe()`
 * after every run records the fields not seen before (a run reads the field catalogs when it starts, and
 * the test makes no change while it runs).
 */
export class FieldSightings {
  private readonly seen = new Map<string, Sighting>();
  private runs = 0;

  observe(fields: FieldStore): void {
    this.runs++;
    for (const entity of ['deal', 'person', 'organization', 'product', 'activity'] as const) {
      for (const d of fields.list(entity)) {
        if (!d.isCustom || this.seen.has(`${entity}:${d.key}`)) continue;
        this.seen.set(`${entity}:${d.key}`, { entity, key: d.key, name: d.name, fieldType: d.field_type, order: this.runs });
      }
    }
  }

  /** The name a field had when first seen, or undefined if no run saw it. */
  nameAtSight(entity: FieldEntity, key: string): string | undefined {
    return this.seen.get(`${entity}:${key}`)?.name;
  }

  of(entity: FieldEntity): Sighting[] {
    return [...this.seen.values()].filter((s) => s.entity === entity).sort((a, b) => a.order - b.order || a.key.localeCompare(b.key));
  }
}

/** One column of a custom field: its name, type and how its value comes from the stored value. */
export interface CustomColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** The column's value from the field's stored value (v2 shape, or the lead's flat v1 entries). */
  readonly value: (stored: StoredValue) => unknown;
}

/** A field's value as the store holds it: v2 entities nest it by key; leads keep v1 flat entries. */
export type StoredValue = { readonly shape: 'v2'; readonly value: unknown } | { readonly shape: 'v1'; readonly flat: Readonly<Record<string, unknown>>; readonly key: string };

type Def = Readonly<FieldDef>;
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored value's sub-value `part` (v2: a key of the value object; v1: the `<key>_<part>` entry). */
function sub(stored: StoredValue, part: string): unknown {
  if (stored.shape === 'v2') return isObj(stored.value) ? (stored.value[part] ?? null) : null;
  return stored.flat[`${stored.key}_${part}`] ?? null;
}

/** The main value: v2 `value` of a structured value (or the value itself); v1 the `<key>` entry. */
function main(stored: StoredValue, structured: boolean): unknown {
  if (stored.shape === 'v1') return stored.flat[stored.key] ?? null;
  if (structured) return isObj(stored.value) ? (stored.value['value'] ?? null) : (stored.value ?? null);
  return stored.value ?? null;
}

/** Option ids of an enum/set value: v2 numbers (or an array of them), v1 a number, numeric text or comma list. */
function optionIds(v: unknown): number[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((x) => Number(isObj(x) ? x['id'] : x));
  if (typeof v === 'string') return v.split(',').filter((s) => s.trim() !== '').map(Number);
  return [Number(isObj(v) ? v['id'] : v)];
}

function labelOf(def: Def | undefined, id: number): string | null {
  return def?.options?.find((o) => o.id === id)?.label ?? null;
}

/** The columns one field spreads into, under base name `base`. */
export function columnsOf(base: string, fieldType: string, def: Def | undefined): CustomColumn[] {
  const col = (suffix: string, type: ColumnType, value: (s: StoredValue) => unknown): CustomColumn => ({ name: `${base}${suffix}`, type, value });
  switch (fieldType) {
    case 'monetary':
      return [col('', 'double', (s) => main(s, true)), col('_currency', 'string', (s) => sub(s, 'currency'))];
    case 'daterange':
      return [col('', 'date', (s) => main(s, true)), col('_until', 'date', (s) => sub(s, 'until'))];
    case 'timerange':
      return [col('', 'string', (s) => main(s, true)), col('_until', 'string', (s) => sub(s, 'until')), col('_timezone', 'string', (s) => sub(s, 'timezone_name'))];
    case 'time':
      return [col('', 'string', (s) => main(s, true)), col('_timezone', 'string', (s) => sub(s, 'timezone_name'))];
    case 'address': {
      const parts = (def?.subfields ?? []).map((p) => p.key).filter((k) => k !== 'value');
      if (parts.length === 0) throw new Error(`oracle: address field ${base} has no subfields in the store`);
      return [col('', 'string', (s) => main(s, true)), ...parts.map((p) => col(`_${p}`, 'string', (s) => sub(s, p)))];
    }
    case 'enum':
      return [
        col('', 'string', (s) => {
          const ids = optionIds(main(s, false));
          return ids.length === 0 ? null : labelOf(def, ids[0]!);
        }),
        col('_id', 'long', (s) => optionIds(main(s, false))[0] ?? null),
      ];
    case 'set':
      return [
        col('', 'json', (s) => {
          const v = main(s, false);
          return v === null ? null : optionIds(v).map((id) => labelOf(def, id));
        }),
        col('_ids', 'json', (s) => {
          const v = main(s, false);
          return v === null ? null : optionIds(v);
        }),
      ];
    case 'double':
      return [col('', 'double', (s) => main(s, false))];
    case 'int':
      return [col('', 'long', (s) => main(s, false))];
    case 'boolean':
      return [col('', 'boolean', (s) => main(s, false))];
    case 'date':
      return [col('', 'date', (s) => main(s, false))];
    case 'json':
      return [col('', 'json', (s) => main(s, false))];
    case 'lead':
      return [col('', 'string', (s) => main(s, false))];
    case 'user':
    case 'org':
    case 'people':
    case 'deal':
    case 'stage':
    case 'pipeline':
    case 'product':
    case 'project':
      return [col('', 'long', (s) => main(s, false))];
    default:
      // varchar, text, phone, varchar_auto, varchar_options: text.
      return [col('', 'string', (s) => main(s, false))];
  }
}

/** One field's frozen columns in a table. */
export interface CustomField {
  readonly key: string;
  readonly base: string;
  /** null once the field is deleted in the local Pipedrive: its columns stay, always null. */
  readonly def: Def | null;
  readonly columns: readonly CustomColumn[];
}

/**
 * A table's custom fields with the names the documented rule gives them: snake case of the name at first
 * sight, `_2`, `_3`, … while any of the field's columns would collide with a built-in column or an earlier
 * field's (earlier sighting first, then key).
 */
export function customFieldsOf(entity: FieldEntity, builtIn: readonly string[], sightings: FieldSightings, fields: FieldStore): CustomField[] {
  const taken = new Set(builtIn);
  const all = fields.list(entity, { includeDeleted: true });
  const out: CustomField[] = [];
  for (const s of sightings.of(entity)) {
    const def = all.find((d) => d.key === s.key);
    const stem = snake(s.name);
    let base = stem;
    for (let n = 2; columnsOf(base, s.fieldType, def).some((c) => taken.has(c.name)); n++) base = `${stem}_${n}`;
    const columns = columnsOf(base, s.fieldType, def);
    for (const c of columns) taken.add(c.name);
    out.push({ key: s.key, base, def: def && def.deletedSec === null ? def : null, columns });
  }
  return out;
}
