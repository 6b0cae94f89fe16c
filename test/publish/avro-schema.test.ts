import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../src/catalog/index.ts';
import { VERSION_KEY_FIELD, keySchema, valueSchema } from '../../src/publish/avro-schema.ts';

describe('Avro schemas from the catalog', () => {
  for (const spec of catalog.values()) {
    it(`${spec.name}: key and value parse, round-trip a row, and nulls are allowed`, () => {
      const key = avro.Type.forSchema(keySchema('pipedrive', spec) as avro.Schema);
      const value = avro.Type.forSchema(valueSchema('pipedrive', spec) as avro.Schema);
      // History keys also hold the version time, so an upsert by key keeps every version.
      const version = spec.sync.kind === 'history' ? [VERSION_KEY_FIELD] : [];
      expect((key as avro.types.RecordType).fields.map((f) => f.name)).toEqual([...spec.primaryKey, ...version]);
      const row = Object.fromEntries(spec.columns.map((c) => [c.name, spec.primaryKey.includes(c.name) ? (c.type === 'string' ? '1' : 1) : null]));
      const record = { ...row, __op: 'u', __deleted: false, __source_ts_ms: 1_700_000_000_000, __synced_ms: 1_700_000_000_500 };
      expect(value.fromBuffer(value.toBuffer(record))).toEqual(record);
    });
  }

  it('history keys without the version time (written before it existed) stay readable by the new key schema', () => {
    const spec = catalog.get('deal_history')!;
    const oldKey = avro.Type.forSchema({ type: 'record', name: 'Key', namespace: 'pipedrive.deal_history', fields: [{ name: 'id', type: 'long' }] });
    const newKey = avro.Type.forSchema(keySchema('pipedrive', spec) as avro.Schema);
    expect(newKey.fromBuffer(oldKey.toBuffer({ id: 7 }), newKey.createResolver(oldKey))).toEqual({ id: 7, [VERSION_KEY_FIELD]: 0 });
  });

  it('new optional columns keep the value schema backward compatible (old data readable by new schema)', () => {
    const spec = catalog.get('deal')!;
    const oldType = avro.Type.forSchema(valueSchema('pipedrive', spec) as avro.Schema);
    const wider = { ...spec, columns: [...spec.columns, { name: 'extra', type: 'string' as const }] };
    const newType = avro.Type.forSchema(valueSchema('pipedrive', wider) as avro.Schema);
    const resolver = newType.createResolver(oldType);
    const old = { ...Object.fromEntries(spec.columns.map((c) => [c.name, c.name === 'id' ? 5 : null])), __op: 'c', __deleted: false, __source_ts_ms: 1, __synced_ms: 2 };
    expect(newType.fromBuffer(oldType.toBuffer(old), resolver)).toMatchObject({ id: 5, extra: null });
  });
});
