import type { ColumnSpec, TableSpec } from '../catalog/types.ts';
import { PipedriveDataError } from './errors.ts';

/** A column value after parsing: timestamps as epoch milliseconds, dates as epoch days, JSON as text. */
export type Value = string | number | boolean | null;
/** One parsed row: exactly the table's columns. */
export type Row = Readonly<Record<string, Value>>;

const DAY_MS = 86_400_000;

/**
 * Parses one raw API object into a typed row of the table's columns. Pipedrive's types are checked here, once:
 * a wrong type or a missing required value is a PipedriveDataError naming the table, row and field, so nothing
 * half-parsed moves on.
 */
export function parseRow(spec: TableSpec, raw: unknown, ctx: RowContext = {}): Row {
  const scalar = ctx.index !== undefined && (typeof raw !== 'object' || raw === null);
  if (!scalar && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new PipedriveDataError(`table ${spec.name}: expected an object per row, got ${JSON.stringify(raw)?.slice(0, 80)}`, spec.name, undefined, undefined);
  }
  const { readers, build } = compiledOf(spec);
  const values: Value[] = new Array<Value>(readers.length);
  for (let i = 0; i < readers.length; i++) {
    const reader = readers[i]!;
    let value: Value;
    try {
      value = parseValue(reader.col, reader.get(raw, ctx));
    } catch (err) {
      const id = scalar ? raw : (raw as Record<string, unknown>).id;
      throw new PipedriveDataError(`table ${spec.name}: row ${JSON.stringify(id)}: field "${reader.col.name}": ${(err as Error).message}`, spec.name, id, reader.col.name);
    }
    if (value === null && reader.required) {
      const id = scalar ? raw : (raw as Record<string, unknown>).id;
      throw new PipedriveDataError(
        `table ${spec.name}: row ${JSON.stringify(id)}: field "${reader.col.name}" is missing (Pipedrive always returns it; the page is malformed)`,
        spec.name,
        id,
        reader.col.name,
      );
    }
    values[i] = value;
  }
  return build(values);
}

/** How one column is read from an API object: compiled once per table (paths split, required known). */
interface ColumnReader {
  readonly col: ColumnSpec;
  readonly required: boolean;
  readonly get: (raw: unknown, ctx: RowContext) => unknown;
}

interface CompiledRow {
  readonly readers: readonly ColumnReader[];
  /** The row object from its values in column order. */
  readonly build: (values: readonly Value[]) => Record<string, Value>;
}

const compiledBySpec = new WeakMap<TableSpec, CompiledRow>();

function compiledOf(spec: TableSpec): CompiledRow {
  let compiled = compiledBySpec.get(spec);
  if (!compiled) {
    const required = requiredColumns(spec);
    const readers = spec.columns.map((col) => ({ col, required: required.has(col.name), get: col.read ? (raw: unknown) => col.read!(raw) : compilePath(col.path ?? col.name) }));
    compiled = { readers, build: rowBuilder(readers.map((r) => r.col.name)) };
    compiledBySpec.set(spec, compiled);
  }
  return compiled;
}

/**
 * Rows built by one object literal of the table's columns (as avsc compiles its record writers): every row
 * of a table gets the same shape at once, where assigning the columns one by one made each assignment a
 * lookup of the next shape (most of parseRow's time, and JSON.stringify in contentHash is faster on such
 * rows). Same keys in the same order, so the same JSON and content hash.
 */
function rowBuilder(names: readonly string[]): CompiledRow['build'] {
  if (names.includes('__proto__')) {
    return (values) => {
      const row: Record<string, Value> = {};
      names.forEach((n, i) => (row[n] = values[i]!));
      return row;
    };
  }
  // The names are written as JSON string literals: any column name is a valid key.
  return new Function('v', `return { ${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')} };`) as CompiledRow['build'];
}

/** A column path as a function: `$index`, `$value`, `$parent.…`, `$item.…`, or a dot path of the object. */
function compilePath(path: string): (raw: unknown, ctx: RowContext) => unknown {
  if (path === '$index') return (_raw, ctx) => ctx.index;
  if (path === '$value') return (raw) => raw;
  if (path.startsWith('$parent.')) {
    const parts = path.slice('$parent.'.length).split('.');
    return (_raw, ctx) => walk(ctx.parent, parts);
  }
  if (path.startsWith('$item.')) {
    const parts = path.slice('$item.'.length).split('.');
    return (_raw, ctx) => walk(ctx.item, parts);
  }
  const parts = path.split('.');
  if (parts.length === 1) {
    const [field] = parts as [string];
    return (raw) => (raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[field] : undefined);
  }
  return (raw) => walk(raw, parts);
}

function walk(obj: unknown, parts: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const part of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const requiredBySpec = new WeakMap<TableSpec, ReadonlySet<string>>();

/** The columns a row must hold: declared `required`, the primary key, and the cursor of lists sorted by it. */
export function requiredColumns(spec: TableSpec): ReadonlySet<string> {
  let set = requiredBySpec.get(spec);
  if (!set) {
    const sortedBy = spec.sync.kind === 'updated-since' || spec.sync.kind === 'sorted-desc' ? [spec.sync.cursorField] : [];
    set = new Set([...spec.columns.filter((c) => c.required).map((c) => c.name), ...spec.primaryKey, ...sortedBy]);
    requiredBySpec.set(spec, set);
  }
  return set;
}

/** What a column path may refer to besides the object itself. */
export interface RowContext {
  /** The parent API object of a child row (`$parent.<field>`). */
  readonly parent?: unknown;
  /** The element's position in the parent's array (`$index`). */
  readonly index?: number;
  /** The wrapper around the object (`$item.<field>`), e.g. a recents or mail entry. */
  readonly item?: unknown;
}

export function parseValue(col: ColumnSpec, v: unknown): Value {
  if (v === undefined || v === null) return null;
  switch (col.type) {
    case 'long':
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
      throw new TypeError(`expected an integer, got ${JSON.stringify(v)}`);
    case 'double':
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      throw new TypeError(`expected a number, got ${JSON.stringify(v)}`);
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw new TypeError(`expected a string, got ${JSON.stringify(v)}`);
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw new TypeError(`expected a boolean, got ${JSON.stringify(v)}`);
    case 'timestamp':
      if (v === '') return null;
      return parseTimestamp(v);
    case 'date':
      if (v === '') return null;
      if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) {
        const ms = Date.parse(`${v}T00:00:00Z`);
        if (Number.isFinite(ms)) return ms / DAY_MS;
      }
      throw new TypeError(`expected a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
    case 'json':
      return JSON.stringify(v);
  }
}

/** Accepts v2 RFC 3339 (`2026-01-02T03:04:05Z`) and v1 `2026-01-02 03:04:05` (UTC); returns epoch ms. */
export function parseTimestamp(v: unknown): number {
  if (typeof v === 'string') {
    // v1 `YYYY-MM-DD HH:MM:SS` (projects and tasks add `.mmm`) is UTC.
    const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(v) ? `${v.replace(' ', 'T')}Z` : v;
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.test(iso)) {
      const ms = Date.parse(iso);
      if (Number.isFinite(ms)) return ms;
    }
  }
  throw new TypeError(`expected a timestamp, got ${JSON.stringify(v)}`);
}

/** v1's `YYYY-MM-DD HH:MM:SS` (UTC), as `since_timestamp` takes it. */
export function formatV1(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** RFC 3339 with whole seconds, as v2 query parameters take it. */
export function formatRfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
