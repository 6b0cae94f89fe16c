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
