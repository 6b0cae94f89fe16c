import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { deal } from '../../src/catalog/tables/deal.ts';
import { historyOf } from '../../src/catalog/types.ts';
import { keySchema, valueSchema } from '../../src/publish/avro-schema.ts';
import type { AvroSchema } from '../../src/registry/client.ts';
import { compileRowDecoder, type RecordMeta } from '../../src/sink/avro-rows.ts';
import { tableFromSchemas } from '../../src/sink/avro-table.ts';
import type { SinkTable, SinkValue } from '../../src/sink/model.ts';
import { reduceBatch, type DecodedRecord } from '../../src/sink/reduce.ts';

/**
 * The oracle: avsc decodes the record, and the SQL values follow from the column types as written out here
 * (timestamp → Date of the millis, date → the day's ISO date, anything else as decoded).
 */
function expected(schema: AvroSchema, table: SinkTable, body: Buffer): { row: Record<string, SinkValue>; meta: RecordMeta } {
  const v = avro.Type.forSchema(schema as avro.Schema).fromBuffer(body) as Record<string, unknown>;
  const row: Record<string, SinkValue> = {};
  for (const c of table.columns) {
    const x = v[c.name] as SinkValue;
    row[c.name] = x === null ? null : c.type === 'timestamp' ? new Date(x as number) : c.type === 'date' ? new Date((x as number) * 86_400_000).toISOString().slice(0, 10) : x;
  }
  const ts = v.__source_ts_ms as number;
  Object.assign(row, { _op: v.__op, _deleted: v.__deleted, _source_ts: new Date(ts), _synced: null });
  if (table.kind === 'latest') row._resync = null;
  else Object.assign(row, { _start: null, _end: null, _active: null });
  return { row, meta: { op: v.__op as string, deleted: v.__deleted as boolean, sourceTsMs: ts } };
}

const schemaOf = (fields: unknown[]): AvroSchema => ({
  type: 'record',
  name: 'Value',
  fields: [
    ...fields,
    { name: '__op', type: { type: 'enum', name: 'Op', symbols: ['r', 'c', 'u', 'd'] } },
    { name: '__deleted', type: 'boolean' },
    { name: '__source_ts_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: '__synced_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
});
const keyOf: AvroSchema = { type: 'record', name: 'Key', fields: [{ name: 'id', type: 'long' }] };

function check(schema: AvroSchema, values: Array<Record<string, unknown>>, history = false): void {
  const table = tableFromSchemas('t', keyOf, history ? { ...schema, 'pipedrive.cdc.kind': 'history' } : schema);
  const decode = compileRowDecoder(schema, table);
  expect(decode).toBeDefined();
  const type = avro.Type.forSchema(schema as avro.Schema);
  for (const value of values) {
    const body = type.toBuffer(value);
    const meta: RecordMeta = { op: '', deleted: true, sourceTsMs: null };
    const row = decode!(body, meta);
    const want = expected(schema, table, body);
    expect(row).toEqual(want.row);
    expect(meta).toEqual(want.meta);
  }
}

const meta = (op = 'u') => ({ __op: op, __deleted: op === 'd', __source_ts_ms: 1_733_000_000_123, __synced_ms: 1_733_000_000_456 });

describe('compileRowDecoder (against avsc and the column types)', () => {
  it('decodes every type the sink supports, nulls included, on both sides of a union', () => {
    const schema = schemaOf([
      { name: 'id', type: 'long' },
      { name: 'n', type: ['null', 'long'], default: null },
      { name: 'i', type: 'int' },
      { name: 'x', type: ['null', 'double'], default: null },
      { name: 'f', type: 'float' },
      { name: 's', type: ['null', 'string'], default: null },
      { name: 'b', type: ['boolean', 'null'] },
      { name: 'at', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
      { name: 'day', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
      { name: 'e', type: { type: 'enum', name: 'Colour', symbols: ['red', 'green'] } },
      { name: 'j', type: ['null', { type: 'string', 'connect.name': 'io.debezium.data.Json' }], default: null },
    ]);
    const longs = [0, 1, -1, 63, 64, -64, -65, 127, 128, 2 ** 27, -(2 ** 27), 2 ** 31, -(2 ** 31) - 1, 2 ** 35 + 7, 1_733_000_000_123, -1_733_000_000_123, 2 ** 52 + 3, -(2 ** 52) - 5, 2 ** 53 - 2, -(2 ** 53) + 2];
    check(
      schema,
      longs.map((n, k) => ({
        id: n,
        n: k % 3 === 0 ? null : n,
        i: (n | 0) % 2 ** 30,
        x: k % 4 === 0 ? null : n / 7,
        f: 1.5,
        s: k % 2 === 0 ? null : `tab\there, newline\n, ünïcödé ✓ ${n}`,
        b: k % 3 === 0 ? null : k % 2 === 0,
        at: k % 5 === 0 ? null : 1_700_000_000_000 + n % 1e9,
        day: k % 2 === 0 ? null : 19_700 + k,
        e: k % 2 === 0 ? 'red' : 'green',
        j: k % 2 === 0 ? null : JSON.stringify({ k }),
        ...meta(['r', 'c', 'u', 'd'][k % 4]),
      })),
    );
  });

  it('decodes the product\'s own deal schemas, latest and history', () => {
    const history = historyOf(deal)!;
    for (const spec of [deal, history]) {
      const schema = valueSchema('p', spec);
      const table = tableFromSchemas(spec.name, keySchema('p', spec), schema);
      const decode = compileRowDecoder(schema, table)!;
      const type = avro.Type.forSchema(schema as avro.Schema);
      const full = Object.fromEntries((schema.fields as Array<{ name: string; type: unknown }>).map((f) => [f.name, null]));
      const value = { ...full, id: 42, title: 'Deal — 42', add_time: 1_700_000_000_000, value: 12.5, ...meta('c') };
      const body = type.toBuffer(value);
      const m: RecordMeta = { op: '', deleted: false, sourceTsMs: null };
      expect(decode(body, m)).toEqual(expected(schema, table, body).row);
    }
  });

  it('an evolved schema (a new optional column) gets its own decoder, and the old one still reads old records', () => {
    const v1 = schemaOf([{ name: 'id', type: 'long' }, { name: 'title', type: ['null', 'string'], default: null }]);
    const v2 = schemaOf([{ name: 'id', type: 'long' }, { name: 'title', type: ['null', 'string'], default: null }, { name: 'score', type: ['null', 'double'], default: null }]);
    check(v1, [{ id: 1, title: 'a', ...meta() }]);
    check(v2, [{ id: 1, title: 'a', score: 2.5, ...meta() }, { id: 2, title: null, score: null, ...meta('d') }], true);
  });

  it('refuses truncated and overlong bodies, bad union and enum indexes', () => {
    const schema = schemaOf([{ name: 'id', type: 'long' }, { name: 's', type: ['null', 'string'], default: null }]);
    const table = tableFromSchemas('t', keyOf, schema);
    const decode = compileRowDecoder(schema, table)!;
    const body = avro.Type.forSchema(schema as avro.Schema).toBuffer({ id: 5, s: 'hello', ...meta() });
    const m: RecordMeta = { op: '', deleted: false, sourceTsMs: null };
    for (let cut = 0; cut < body.length; cut++) expect(() => decode(body.subarray(0, cut), m)).toThrow();
    expect(() => decode(Buffer.concat([body, Buffer.from([0])]), m)).toThrow(/trailing data/);
    const badUnion = Buffer.from(body);
    badUnion[1] = 4; // union index 2 of a two-branch union
    expect(() => decode(badUnion, m)).toThrow(/union index/);
    const badEnum = Buffer.from(body);
    badEnum[1 + 1 + 1 + 5] = 8; // __op index 4 of four symbols
    expect(() => decode(badEnum, m)).toThrow(/enum index/);
  });

  it('leaves schemas it does not handle to avsc', () => {
    const schema = schemaOf([{ name: 'id', type: 'long' }, { name: 'tags', type: { type: 'array', items: 'string' } }]);
    expect(compileRowDecoder(schema, { name: 't', kind: 'latest', primaryKey: ['id'], columns: [{ name: 'id', type: 'bigint' }] })).toBeUndefined();
  });
});

describe('reduceBatch of compiled rows equals reduceBatch of avsc values (the path before)', () => {
  const history = historyOf(deal)!;
  const now = new Date('2026-12-03T00:00:00Z');
  for (const spec of [deal, history]) {
    it(`${spec.name}: upserts, a repeated key, a key-only delete, a tombstone`, () => {
      const schema = valueSchema('p', spec);
      const table = tableFromSchemas(spec.name, keySchema('p', spec), schema);
      const decode = compileRowDecoder(schema, table)!;
      const type = avro.Type.forSchema(schema as avro.Schema);
      const nulls = Object.fromEntries((schema.fields as Array<{ name: string }>).map((f) => [f.name, null]));
      const value = (id: number, op: string, ts: number, title: string | null) => ({ ...nulls, id, title, add_time: title ? 1_700_000_000_000 + id : null, value: title ? id / 4 : null, ...meta(op), __source_ts_ms: ts });
      const values = [value(1, 'c', 1_000, 'a'), value(2, 'c', 2_000, 'b'), value(1, 'u', 3_000, 'a2'), value(3, 'd', 4_000, null), value(2, 'd', 5_000, 'b'), null, value(4, 'r', 6_000, 'x\ty')];
      const keys = [1, 2, 1, 3, 2, 5, 4];
      const old: DecodedRecord[] = [];
      const compiled: DecodedRecord[] = [];
      values.forEach((v, i) => {
        const offset = BigInt(i);
        const key = { id: keys[i]! };
        if (v === null) {
          if (spec === deal) {
            old.push({ table, offset, key, value: null });
            compiled.push({ table, offset, key, value: null });
          }
          return;
        }
        const body = type.toBuffer(v);
        old.push({ table, offset, key, value: type.fromBuffer(body) as Record<string, unknown> });
        const m: RecordMeta = { op: '', deleted: false, sourceTsMs: null };
        const row = decode(body, m);
        compiled.push({ table, offset, key, value: { __op: m.op, __deleted: m.deleted, __source_ts_ms: m.sourceTsMs }, row });
      });
      // The compiled rows carry the slots the history merge fills (null until then); the rest is equal.
      const strip = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? `${v}n` : v === null && ['_start', '_end', '_active'].includes(k) ? undefined : v)));
      expect(strip(reduceBatch(compiled, now))).toEqual(strip(reduceBatch(old, now)));
    });
  }
});
