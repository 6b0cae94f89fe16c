import { describe, expect, it } from 'vitest';
import { copyRows } from '../../src/sink/destinations/copy-text.ts';
import type { SinkColumn, SinkValue } from '../../src/sink/model.ts';

/** The oracle: PostgreSQL's COPY text format written out value by value (docs: COPY, "Text Format"). */
function oracle(rows: ReadonlyArray<Record<string, SinkValue>>, cols: readonly SinkColumn[]): string {
  const esc: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
  const one = (v: SinkValue | undefined) =>
    v === null || v === undefined ? '\\N' : v instanceof Date ? v.toISOString() : typeof v === 'boolean' ? (v ? 't' : 'f') : [...String(v)].map((ch) => esc[ch] ?? ch).join('');
  return rows.map((r) => cols.map((c) => one(r[c.name])).join('\t') + '\n').join('');
}

const cols: SinkColumn[] = [
  { name: 'id', type: 'bigint' },
  { name: 'n', type: 'integer' },
  { name: 'x', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'at', type: 'timestamp' },
  { name: 'day', type: 'date' },
  { name: 'title', type: 'text' },
  { name: 'we"ird name', type: 'text' },
];

describe('copyRows', () => {
  it('writes what the COPY text format says, for every column type, nulls, missing values and escapes', () => {
    const texts = [null, '', 'plain', 'tab\there', 'line\nbreak', 'cr\r', 'back\\slash', 'ünïcödé ✓', '\\N'];
    const rows: Array<Record<string, SinkValue>> = [];
    for (let i = 0; i < 60; i++) {
      rows.push({
        id: i % 7 === 0 ? null : i * 1_000_003,
        n: i % 5 === 0 ? null : -i,
        x: i % 3 === 0 ? null : i / 7,
        ok: i % 4 === 0 ? null : i % 2 === 0,
        at: i % 6 === 0 ? null : new Date(1_700_000_000_000 + i * 1_234_567),
        day: i % 2 === 0 ? null : `2024-01-${String(1 + (i % 28)).padStart(2, '0')}`,
        title: texts[i % texts.length]!,
        ...(i % 9 === 0 ? {} : { 'we"ird name': texts[(i + 3) % texts.length]! }),
      });
    }
    expect([...copyRows(rows, cols)].join('')).toBe(oracle(rows, cols));
  });

  it('a value of another type than its column is still written by the generic rule', () => {
    const rows: Array<Record<string, SinkValue>> = [{ id: 'text\tin a number column', n: true, x: new Date(0), ok: 1, at: '2024-01-01T00:00:00Z', day: 3, title: false, 'we"ird name': 2.5 }];
    expect([...copyRows(rows, cols)].join('')).toBe(oracle(rows, cols));
  });

  it('comes in chunks of about 1 MiB, cut between lines', () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => ({ id: i, title: 'x'.repeat(60) }));
    const chunks = [...copyRows(rows, [cols[0]!, cols[6]!])];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.endsWith('\n')).toBe(true);
    expect(chunks.join('')).toBe(oracle(rows, [cols[0]!, cols[6]!]));
  });
});
