import type { TableSpec } from '../../../src/catalog/types.ts';

/**
 * Normalises a value for comparison, by catalog column type: whatever the API or a database driver returns
 * (bigint, numeric text, Date, date text) becomes one canonical JS value.
 */
export function canonical(type: TableSpec['columns'][number]['type'], v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'long':
    case 'double':
      return Number(v);
    case 'boolean':
      return Boolean(v);
    case 'timestamp':
      return new Date(v instanceof Date ? v.getTime() : String(v)).toISOString();
    case 'date':
      return v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10);
    case 'json':
      return typeof v === 'string' ? JSON.parse(v) : v;
    default:
      return String(v);
  }
}

/** Rows keyed by id with every catalog column canonicalised. */
export function canonicalRows(spec: TableSpec, rows: ReadonlyArray<Record<string, unknown>>): Map<number, Record<string, unknown>> {
  const out = new Map<number, Record<string, unknown>>();
  for (const r of rows) {
    const c: Record<string, unknown> = {};
    for (const col of spec.columns) c[col.name] = canonical(col.type, r[col.name]);
    out.set(Number(r.id), c);
  }
  return out;
}

/**
 * The last version of each key in a topic (decoded by a plain consumer: timestamps as epoch ms, dates as
 * epoch days), as canonical rows comparable with `canonicalRows` of the API's objects; deleted keys left out.
 */
export function latestFromTopic(spec: TableSpec, values: ReadonlyArray<Record<string, unknown> | null>, keys: ReadonlyArray<Record<string, unknown>>): Map<number, Record<string, unknown>> {
  const last = new Map<number, Record<string, unknown> | null>();
  values.forEach((v, i) => last.set(Number(keys[i]!.id), v));
  const rows: Array<Record<string, unknown>> = [];
  for (const v of last.values()) {
    if (v === null || v.__deleted === true) continue;
    const row: Record<string, unknown> = { ...v };
    for (const col of spec.columns) {
      if (v[col.name] === null || v[col.name] === undefined) continue;
      if (col.type === 'timestamp') row[col.name] = new Date(Number(v[col.name]));
      if (col.type === 'date') row[col.name] = new Date(Number(v[col.name]) * 86_400_000).toISOString().slice(0, 10);
    }
    rows.push(row);
  }
  return canonicalRows(spec, rows);
}
