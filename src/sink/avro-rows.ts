import type { AvroSchema } from '../registry/client.ts';
import type { SinkTable, SinkValue, SqlType } from './model.ts';

/**
 * Avro bytes → the table's SQL row in one step, compiled once per (writer schema, table): no avsc record
 * object in between, no per-value type switch, one row object of a fixed shape per record (timestamps as
 * `Date`, dates as `YYYY-MM-DD`, as src/sink/reduce.ts's converter gives them). The record's metadata
 * (`__op`, `__deleted`, `__source_ts_ms`) goes into `meta`, which the caller reuses; `_synced` and
 * `_resync` (history: `_start`, `_end`, `_active`) are left null for the reducer and the history merge. Writer schemas the sink supports are flat
 * records of primitives, enums, logical timestamp-millis/date and unions with null (src/sink/avro-table.ts);
 * `compileRowDecoder` returns undefined for anything else and the caller decodes with avsc instead.
 */
export interface RecordMeta {
  op: string;
  deleted: boolean;
  sourceTsMs: number | null;
}

export type RowDecoder = (body: Buffer, meta: RecordMeta) => Record<string, SinkValue>;

const META_FIELDS = ['__op', '__deleted', '__source_ts_ms'] as const;

/** How one value of a branch is read: code that leaves it in `v` (and moves `pos`). */
type Reader = { code: string; kind: 'long' | 'int' | 'double' | 'float' | 'string' | 'boolean' | 'enum' | 'null'; symbols?: readonly string[] };

function readerOf(type: unknown): Reader | undefined {
  if (typeof type === 'string') {
    switch (type) {
      case 'null':
        return { kind: 'null', code: 'v = null;' };
      case 'long':
        return { kind: 'long', code: 'v = long();' };
      case 'int':
        return { kind: 'int', code: 'v = long();' };
      case 'double':
        return { kind: 'double', code: 'v = body.readDoubleLE(pos); pos += 8;' };
      case 'float':
        return { kind: 'float', code: 'v = body.readFloatLE(pos); pos += 4;' };
      case 'string':
        return { kind: 'string', code: 'n = long(); if (n < 0 || pos + n > body.length) throw new Error("truncated buffer"); v = body.utf8Slice(pos, pos + n); pos += n;' };
      case 'boolean':
        return { kind: 'boolean', code: 'if (pos >= body.length) throw new Error("truncated buffer"); v = body[pos++] === 1;' };
      default:
        return undefined;
    }
  }
  if (typeof type === 'object' && type !== null && !Array.isArray(type)) {
    const t = type as { type: unknown; symbols?: unknown };
    if (t.type === 'enum') {
      if (!Array.isArray(t.symbols) || !t.symbols.every((s) => typeof s === 'string')) return undefined;
      return { kind: 'enum', code: '', symbols: t.symbols as string[] };
    }
    // Logical types and attributes keep their underlying encoding (the conversion is the column's).
    return readerOf(t.type);
  }
  return undefined;
}

const decoders = new WeakMap<SinkTable, RowDecoder | null>();

/**
 * `compileRowDecoder`, once per table (the task's tables are one per value writer schema: src/sink/task.ts
 * tableFor); null: avsc and reduce.ts's converter decode its records.
 */
export function rowDecoderFor(schema: AvroSchema, table: SinkTable): RowDecoder | null {
  let d = decoders.get(table);
  if (d === undefined) decoders.set(table, (d = compileRowDecoder(schema, table) ?? null));
  return d;
}

/** The decoder, or undefined when the schema has a shape this compiler does not handle (avsc then). */
export function compileRowDecoder(schema: AvroSchema, table: SinkTable): RowDecoder | undefined {
  if (schema.type !== 'record' || !Array.isArray(schema.fields)) return undefined;
  const fields = schema.fields as Array<{ name: string; type: unknown }>;
  const typeOf = new Map<string, SqlType>(table.columns.map((c) => [c.name, c.type]));
  const consts: unknown[] = [];
  const constant = (x: unknown) => (consts.push(x), `k[${consts.length - 1}]`);
  const body: string[] = [];
  const outputs: string[] = [];
  const seen = new Set<string>();
  for (const [i, f] of fields.entries()) {
    const branches = Array.isArray(f.type) ? f.type : [f.type];
    const readers = branches.map(readerOf);
    if (readers.some((r) => r === undefined)) return undefined;
    const code = (r: Reader) => (r.kind === 'enum' ? `n = long(); v = ${constant(r.symbols)}[n]; if (v === undefined) throw new Error("bad enum index " + n);` : r.code);
    if (Array.isArray(f.type)) {
      body.push(`b = long();`, readers.map((r, j) => `${j === 0 ? '' : 'else '}if (b === ${j}) { ${code(r!)} }`).join(' ') + ` else throw new Error("bad union index " + b + " of field ${f.name.replace(/[^\w]/g, '_')}");`);
    } else body.push(code(readers[0]!));
    const local = `f${i}`;
    body.push(`const ${local} = v;`);
    seen.add(f.name);
    if ((META_FIELDS as readonly string[]).includes(f.name)) continue;
    const sql = typeOf.get(f.name);
    if (!sql) continue; // a field that is no column (__synced_ms): read past
    const expr =
      sql === 'timestamp' ? `${local} === null ? null : new Date(${local})` : sql === 'date' ? `${local} === null ? null : day(${local})` : local;
    outputs.push(`${JSON.stringify(f.name)}: ${expr}`);
  }
  if (!META_FIELDS.every((m) => seen.has(m))) return undefined;
  const local = (name: string) => `f${fields.findIndex((f) => f.name === name)}`;
  body.push(
    `meta.op = String(${local('__op')}); meta.deleted = ${local('__deleted')} === true; meta.sourceTsMs = typeof ${local('__source_ts_ms')} === 'number' ? ${local('__source_ts_ms')} : null;`,
    'if (pos > body.length) throw new Error("truncated buffer");',
    'if (pos < body.length) throw new Error("trailing data");',
  );
  outputs.push(`_op: meta.op`, `_deleted: meta.deleted`, `_source_ts: meta.sourceTsMs === null ? null : new Date(meta.sourceTsMs)`, `_synced: null`);
  // The slots the reducer and the history merge fill, so the row keeps one shape.
  outputs.push(table.kind === 'latest' ? '_resync: null' : '_start: null, _end: null, _active: null');
  // A zigzag varint as a JS number (avsc's `long`): exact up to 2^53, an error beyond (as avsc's).
  const source = `
    let pos = 0, v, n, b;
    function long() {
      let x = body[pos++];
      if (x === undefined) throw new Error("truncated buffer");
      let r = x & 0x7f;
      if (x < 0x80) return (r >>> 1) ^ -(r & 1);
      let shift = 7;
      while (shift < 28) {
        x = body[pos++];
        if (x === undefined) throw new Error("truncated buffer");
        r |= (x & 0x7f) << shift;
        shift += 7;
        if (x < 0x80) return (r >>> 1) ^ -(r & 1);
      }
      // Beyond 28 bits: floor(raw / 2) summed exactly in doubles, the sign from the lowest bit.
      let half = (r >>> 1) >>> 0, mul = 134217728;
      do {
        x = body[pos++];
        if (x === undefined) throw new Error("truncated buffer");
        half += (x & 0x7f) * mul;
        mul *= 128;
      } while (x >= 0x80);
      if (half >= Number.MAX_SAFE_INTEGER) throw new Error("potential precision loss");
      return r & 1 ? -(half + 1) : half;
    }
    ${body.join('\n    ')}
    return { ${outputs.join(', ')} };`;
  // The schema's names appear only as JSON string literals and its symbols only as constants: no schema text
  // becomes code.
  const make = new Function('k', 'day', `return function decodeRow(body, meta) {${source}\n}`) as (k: unknown[], day: (d: number) => string) => RowDecoder;
  return make(consts, dayOf);
}

const DAY_MS = 86_400_000;

/** Days since the epoch → `YYYY-MM-DD` (what reduce.ts's converter gives). */
function dayOf(days: number): string {
  return new Date(days * DAY_MS).toISOString().slice(0, 10);
}
