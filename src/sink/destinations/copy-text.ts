import type { SinkColumn, SinkValue } from '../model.ts';

/**
 * Rows → PostgreSQL COPY text (tab-separated, `\N` for null, backslash escapes), in chunks of about 1 MiB.
 * The line encoder is compiled once per column list: each column is read by its name as a constant (one
 * hidden class per table's rows, so the reads stay monomorphic) and written by its type — numbers as they
 * print, booleans `t`/`f`, timestamps as ISO text, strings escaped only when they hold a special character.
 * A value of another type than its column's falls back to the generic rule, so the text is the same either way.
 */
export function* copyRows(rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>, cols: readonly SinkColumn[]): Generator<string> {
  const line = lineEncoder(cols);
  let buf = '';
  for (const row of rows) {
    buf = line(buf, row);
    if (buf.length >= 1 << 20) {
      yield buf;
      buf = '';
    }
  }
  if (buf.length > 0) yield buf;
}

/** Appends a row's line to `buf`. */
type LineEncoder = (buf: string, row: Readonly<Record<string, SinkValue>>) => string;

const encoders = new Map<string, LineEncoder>();

function lineEncoder(cols: readonly SinkColumn[]): LineEncoder {
  const id = cols.map((c) => `${c.name}\u0000${c.type}`).join('\u0001');
  let enc = encoders.get(id);
  if (enc) return enc;
  const parts = cols.map((c, i) => {
    const v = `v${i}`;
    const read = `const ${v} = row[${JSON.stringify(c.name)}];`;
    switch (c.type) {
      case 'bigint':
      case 'integer':
      case 'double':
        return { read, expr: `(typeof ${v} === 'number' ? '' + ${v} : value(${v}))` };
      case 'boolean':
        return { read, expr: `(${v} === true ? 't' : ${v} === false ? 'f' : value(${v}))` };
      case 'timestamp':
        return { read, expr: `(${v} instanceof Date ? ${v}.toISOString() : value(${v}))` };
      default:
        return { read, expr: `(typeof ${v} === 'string' ? (SPECIAL.test(${v}) ? escape(${v}) : ${v}) : value(${v}))` };
    }
  });
  // Column names enter the code only as JSON string literals.
  const make = new Function('value', 'escape', 'SPECIAL', `return function copyLine(buf, row) { ${parts.map((p, i) => `${p.read} buf += ${i === 0 ? '' : "'\\t' + "}${p.expr};`).join(' ')} return buf + '\\n'; }`) as (
    value: (v: SinkValue | undefined) => string,
    escape: (s: string) => string,
    special: RegExp,
  ) => LineEncoder;
  enc = make(copyValue, escapeText, SPECIAL);
  encoders.set(id, enc);
  return enc;
}

const SPECIAL = /[\\\t\n\r]/;

function escapeText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'));
}

/** Any value in COPY text. */
export function copyValue(v: SinkValue | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return SPECIAL.test(v) ? escapeText(v) : v;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
