import type { ColumnSpec, ColumnType, TableSpec } from '../catalog/types.ts';
import { PipedriveResponseError } from '../pipedrive/errors.ts';

/**
 * Custom fields as named columns. Pipedrive keys them by 40-hex hashes; each becomes a column named after
 * the field (snake case), frozen at first sight — a rename in Pipedrive never renames the column — with
 * collisions resolved deterministically (`_2`, `_3`, … in order of first sight, then key). Types follow
 * field_type; structured values spread over several columns (money + currency, ranges + end, address
 * parts), and enum/set values carry labels as well as ids.
 */
export interface FieldDef {
  readonly key: string;
  readonly name: string;
  readonly fieldType: string;
  readonly options: ReadonlyArray<{ readonly id: number | string; readonly label: string }>;
  readonly isCustom: boolean;
}

/** Hash key → frozen column base name. Kept in the table's offset, so it commits with the data using it. */
export type CustomColumnNames = Readonly<Record<string, string>>;

const HASH_KEY = /^[0-9a-f]{40}$/;

/** Parses one v2 `*Fields` item (`field_code`, `field_name`, …) or v1 item (`key`, `name`, …). */
export function parseFieldDef(raw: unknown): FieldDef {
  const o = raw as Record<string, unknown> | null;
  const key = o?.field_code ?? o?.key;
  const name = o?.field_name ?? o?.name;
  const fieldType = o?.field_type;
  if (typeof key !== 'string' || typeof name !== 'string' || typeof fieldType !== 'string') {
    throw new PipedriveResponseError(`field catalog: malformed field ${JSON.stringify(raw)?.slice(0, 120)}`);
  }
  const options = Array.isArray(o!.options) ? (o!.options as Array<{ id: number | string; label: string }>).filter((x) => x && x.id !== undefined) : [];
  const isCustom = o!.is_custom_field === true || (o!.is_custom_field === undefined && HASH_KEY.test(key));
  return { key, name, fieldType, options: options.map((x) => ({ id: x.id, label: String(x.label) })), isCustom };
}

export function snakeCase(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const safe = s === '' ? 'field' : s;
  return /^[0-9]/.test(safe) ? `f_${safe}` : safe;
}

/**
 * Names for every custom field: existing names kept as they are; new fields (sorted by key, so the result
 * does not depend on API order) get their snake-case name, suffixed when it would collide with a built-in
 * column, another custom column or one of their derived columns.
 */
export function assignNames(existing: CustomColumnNames, defs: readonly FieldDef[], builtIn: readonly string[]): CustomColumnNames {
  const out: Record<string, string> = { ...existing };
  const taken = new Set<string>(builtIn);
  for (const [key, base] of Object.entries(existing)) {
    const def = defs.find((d) => d.key === key);
    for (const c of derivedNames(base, def?.fieldType ?? 'varchar')) taken.add(c);
  }
  for (const def of [...defs].filter((d) => d.isCustom && out[d.key] === undefined).sort((a, b) => a.key.localeCompare(b.key))) {
    const base = snakeCase(def.name);
    let name = base;
    for (let n = 2; derivedNames(name, def.fieldType).some((c) => taken.has(c)); n++) name = `${base}_${n}`;
    out[def.key] = name;
    for (const c of derivedNames(name, def.fieldType)) taken.add(c);
  }
  return out;
}

interface Part {
  readonly suffix: string;
  readonly type: ColumnType;
  /** v2 nested value → column value. */
  readonly v2: (v: unknown, def: FieldDef) => unknown;
  /** v1 flat object and key → column value. */
  readonly v1: (o: Record<string, unknown>, key: string, def: FieldDef) => unknown;
}

const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const label = (def: FieldDef, id: unknown) => def.options.find((o) => String(o.id) === String(id))?.label ?? null;
const ids = (v: unknown): unknown[] => (Array.isArray(v) ? v : typeof v === 'string' && v !== '' ? v.split(',') : []);
const idOf = (v: unknown) => (v && typeof v === 'object' ? (obj(v).value ?? obj(v).id ?? null) : v);
const ADDRESS_PARTS = ['street_number', 'route', 'sublocality', 'locality', 'admin_area_level_1', 'admin_area_level_2', 'country', 'postal_code', 'formatted_address', 'subpremise'];

/** The columns one field type spreads into. */
function partsOf(fieldType: string): Part[] {
  switch (fieldType) {
    case 'double':
      return [{ suffix: '', type: 'double', v2: (v) => v, v1: (o, k) => o[k] }];
    case 'int':
      return [{ suffix: '', type: 'long', v2: (v) => v, v1: (o, k) => o[k] }];
    case 'boolean':
      return [{ suffix: '', type: 'boolean', v2: (v) => v, v1: (o, k) => o[k] }];
    case 'monetary':
      return [
        { suffix: '', type: 'double', v2: (v) => (v && typeof v === 'object' ? obj(v).value : v), v1: (o, k) => o[k] },
        { suffix: '_currency', type: 'string', v2: (v) => obj(v).currency ?? null, v1: (o, k) => o[`${k}_currency`] },
      ];
    case 'date':
      return [{ suffix: '', type: 'date', v2: (v) => v, v1: (o, k) => o[k] }];
    case 'daterange':
      return [
        { suffix: '', type: 'date', v2: (v) => (v && typeof v === 'object' ? obj(v).value : v), v1: (o, k) => o[k] },
        { suffix: '_until', type: 'date', v2: (v) => obj(v).until ?? null, v1: (o, k) => o[`${k}_until`] },
      ];
    case 'time':
      return [
        { suffix: '', type: 'string', v2: (v) => (v && typeof v === 'object' ? obj(v).value : v), v1: (o, k) => o[k] },
        { suffix: '_timezone', type: 'string', v2: (v) => obj(v).timezone_name ?? null, v1: (o, k) => o[`${k}_timezone_name`] ?? o[`${k}_timezone_id`] },
      ];
    case 'timerange':
      return [
        { suffix: '', type: 'string', v2: (v) => (v && typeof v === 'object' ? obj(v).value : v), v1: (o, k) => o[k] },
        { suffix: '_until', type: 'string', v2: (v) => obj(v).until ?? null, v1: (o, k) => o[`${k}_until`] },
        { suffix: '_timezone', type: 'string', v2: (v) => obj(v).timezone_name ?? null, v1: (o, k) => o[`${k}_timezone_name`] ?? o[`${k}_timezone_id`] },
      ];
    case 'enum':
      return [
        { suffix: '', type: 'string', v2: (v, d) => (v === null || v === undefined ? null : label(d, obj(v).id ?? v)), v1: (o, k, d) => (o[k] == null ? null : label(d, o[k])) },
        { suffix: '_id', type: 'long', v2: (v) => (v && typeof v === 'object' ? obj(v).id : v), v1: (o, k) => o[k] },
      ];
    case 'set':
      return [
        { suffix: '', type: 'json', v2: (v, d) => (v == null ? null : ids(v).map((x) => label(d, idOf(x)))), v1: (o, k, d) => (o[k] == null ? null : ids(o[k]).map((x) => label(d, x))) },
        { suffix: '_ids', type: 'json', v2: (v) => (v == null ? null : ids(v).map((x) => Number(idOf(x)))), v1: (o, k) => (o[k] == null ? null : ids(o[k]).map(Number)) },
      ];
    case 'user':
    case 'org':
    case 'people':
    case 'deal':
    case 'lead':
    case 'stage':
    case 'pipeline':
    case 'product':
    case 'project':
      // Leads reference a UUID, everything else a number id: keep text to hold both.
      return [{ suffix: '', type: fieldType === 'lead' ? 'string' : 'long', v2: (v) => idOf(v), v1: (o, k) => idOf(o[k]) }];
    case 'address':
      return [
        { suffix: '', type: 'string', v2: (v) => (v && typeof v === 'object' ? obj(v).value : v), v1: (o, k) => o[k] },
        ...ADDRESS_PARTS.map((p): Part => ({ suffix: `_${p}`, type: 'string', v2: (v) => obj(v)[p] ?? null, v1: (o, k) => o[`${k}_${p}`] })),
      ];
    case 'json':
      return [{ suffix: '', type: 'json', v2: (v) => v, v1: (o, k) => o[k] }];
    default:
      // varchar, varchar_auto, varchar_options, text, phone, and types added later: their text.
      return [{ suffix: '', type: 'string', v2: (v) => (v && typeof v === 'object' ? JSON.stringify(v) : v), v1: (o, k) => o[k] }];
  }
}

function derivedNames(base: string, fieldType: string): string[] {
  return partsOf(fieldType).map((p) => `${base}${p.suffix}`);
}

/** The run-time columns of a table's custom fields (fields deleted in Pipedrive keep their columns: always null). */
export function customColumns(shape: 'v1' | 'v2', names: CustomColumnNames, defs: readonly FieldDef[]): ColumnSpec[] {
  const out: ColumnSpec[] = [];
  for (const [key, base] of Object.entries(names).sort((a, b) => a[1].localeCompare(b[1]))) {
    const def = defs.find((d) => d.key === key) ?? { key, name: base, fieldType: 'varchar', options: [], isCustom: true };
    for (const part of partsOf(def.fieldType)) {
      out.push({
        name: `${base}${part.suffix}`,
        type: part.type,
        read:
          shape === 'v2'
            ? (raw) => {
                const cf = obj(obj(raw).custom_fields);
                return key in cf ? part.v2(cf[key], def) : null;
              }
            : (raw) => part.v1(obj(raw), key, def),
      });
    }
  }
  return out;
}

/** The table with its custom-field columns appended. */
export function withCustomColumns(spec: TableSpec, names: CustomColumnNames, defs: readonly FieldDef[]): TableSpec {
  if (!spec.customFields) return spec;
  return { ...spec, columns: [...spec.columns, ...customColumns(spec.customFields.shape, names, defs)] };
}

/** Hash keys present in a raw row that the mapping does not know yet (a field created since the last read). */
export function unknownCustomKeys(spec: TableSpec, raw: unknown, names: CustomColumnNames): string[] {
  if (!spec.customFields) return [];
  const source = spec.customFields.shape === 'v2' ? obj(obj(raw).custom_fields) : obj(raw);
  return Object.keys(source).filter((k) => HASH_KEY.test(k) && names[k] === undefined);
}
