import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../../src/capture/emit.ts';
import { catalog } from '../../src/catalog/index.ts';
import { historyOf } from '../../src/catalog/types.ts';
import { VERSION_KEY_FIELD, keySchema, valueSchema } from '../../src/publish/avro-schema.ts';
import { KeyEncoder, Slab, ValueEncoder } from '../../src/publish/encoder.ts';

/**
 * The oracle is avsc encoding the whole record from the registered schema (the straight way) and
 * @kafkajs/confluent-schema-registry decoding the framed bytes (how Confluent's wire format is read).
 */
const deal = catalog.get('deal')!;
const dealHistory = historyOf(deal)!;
const straight = (schema: object, record: object) => avro.Type.forSchema(schema as avro.Schema).toBuffer(record);
const framed = (id: number, body: Buffer) => Buffer.concat([Buffer.from([0]), Buffer.from([id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]), body]);

/** A deal row with every column set, of each column type (timestamps, dates, JSON, numbers, booleans). */
function fullRow(i: number): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of deal.columns) {
    row[c.name] =
      c.type === 'long' || c.type === 'timestamp' ? 1_788_000_000_000 + i * 1000 + c.name.length
      : c.type === 'date' ? 20_000 + i
      : c.type === 'double' ? i + 0.25
      : c.type === 'boolean' ? i % 2 === 0
      : c.type === 'json' ? JSON.stringify({ i, tags: ['a', 'ü'] })
      : `${c.name} ${i} — ünïcode`;
  }
  row.id = i;
  return row;
}

describe('the producer encoder (Confluent wire format with avsc)', () => {
  const value = valueSchema('p', deal);
  const history = valueSchema('p', dealHistory);
  const meta = { __op: 'u', __deleted: false, __source_ts_ms: 1_788_000_123_000, __synced_ms: 1_788_000_124_567 };

  it('a value is the straight encoding of the whole record, framed with its schema id, for full and sparse rows', () => {
    const enc = new ValueEncoder(71, value);
    const slab = new Slab();
    const key = { id: 5 };
    for (const row of [fullRow(1), fullRow(2), key, { ...fullRow(3), title: null, value: null }]) {
      const whole = Object.fromEntries(deal.columns.map((c) => [c.name, (row as Record<string, unknown>)[c.name] ?? null]));
      expect(enc.encode(slab, row, meta).equals(framed(71, straight(value, { ...whole, ...meta })))).toBe(true);
    }
  });

  it('the history copy: the row body under the history schema id is byte for byte the straight history encoding', () => {
    const enc = new ValueEncoder(71, value);
    const slab = new Slab();
    const row = fullRow(9);
    const wire = enc.encode(slab, row, meta);
    const copy = slab.reframed(72, wire.subarray(5));
    expect(copy.equals(framed(72, straight(history, { ...row, ...meta })))).toBe(true);
    // The row record's first bytes are untouched by the copy written after it.
    expect(wire.equals(framed(71, straight(value, { ...row, ...meta })))).toBe(true);
  });

  it('keys: a table key, and a history key (entity key + version time), as the straight encoding', () => {
    const slab = new Slab();
    const k = new KeyEncoder(3, keySchema('p', deal));
    const hk = new KeyEncoder(4, keySchema('p', dealHistory));
    expect(k.encode(slab, { id: 42 }, 123).equals(framed(3, straight(keySchema('p', deal), { id: 42 })))).toBe(true);
    expect(hk.encode(slab, { id: 42 }, 1_788_000_000_000).equals(framed(4, straight(keySchema('p', dealHistory), { id: 42, [VERSION_KEY_FIELD]: 1_788_000_000_000 })))).toBe(true);
    expect(() => hk.encode(slab, { id: 42 })).toThrow(/needs its __source_ts_ms/);
  });

  it('Confluent framing decodes with @kafkajs/confluent-schema-registry, every record intact across slab chunks', async () => {
    const codec = new SchemaRegistry({ host: 'http://127.0.0.1:9' }); // never called: the schemas are in its cache
    codec.cache.setSchema(71, SchemaType.AVRO, avro.Type.forSchema(value as avro.Schema) as never);
    codec.cache.setSchema(3, SchemaType.AVRO, avro.Type.forSchema(keySchema('p', deal) as avro.Schema) as never);
    const enc = new ValueEncoder(71, value);
    const k = new KeyEncoder(3, keySchema('p', deal));
    const slab = new Slab(64); // far too small: every few records a new chunk
    const written = Array.from({ length: 300 }, (_, i) => ({ key: k.encode(slab, { id: i }), value: enc.encode(slab, fullRow(i), { ...meta, __source_ts_ms: i }) }));
    for (const [i, r] of written.entries()) {
      expect(await codec.decode(r.key)).toEqual({ id: i });
      const decoded = (await codec.decode(r.value)) as Record<string, unknown>;
      expect(decoded).toEqual({ ...fullRow(i), ...meta, __source_ts_ms: i });
    }
  });

  it('a value that does not fit its schema is an error naming the field; the slab stays usable', () => {
    const enc = new ValueEncoder(71, value);
    const slab = new Slab();
    expect(() => enc.encode(slab, { ...fullRow(1), title: 7 }, meta)).toThrow(/schema id 71: the record does not fit its schema \(title\)/);
    expect(() => enc.encode(slab, { ...fullRow(1) }, { ...meta, __op: 'x' })).toThrow(/__op/);
    expect(enc.encode(slab, fullRow(1), meta).equals(framed(71, straight(value, { ...fullRow(1), ...meta })))).toBe(true);
    expect(() => new ValueEncoder(1, { type: 'record', name: 'V', fields: [{ name: 'id', type: 'long' }] })).toThrow(/must end with __op/);
  });

  it('the content hash is unchanged: SHA-1 of the row JSON, 12 base64url characters', () => {
    for (const row of [fullRow(1), { id: 1 }, { id: 2, title: 'ü "quoted"' }]) {
      expect(contentHash(row as never)).toBe(createHash('sha1').update(JSON.stringify(row)).digest('base64url').slice(0, 12));
    }
    // A value published by earlier versions (openssl sha1 of the JSON): rows read again must match it.
    expect(contentHash({ id: 1, title: 'x' })).toBe('72bZFUy48biW');
  });
});
