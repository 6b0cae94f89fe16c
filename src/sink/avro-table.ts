import type { AvroSchema } from '../registry/client.ts';
import { NATIVE_NAMING, type SinkColumn, type SinkNaming, type SinkTable, type SqlType } from './model.ts';

/** Metadata fields of the record contract; they map to the destination's meta columns, not business columns. */
const META = new Set(['__op', '__deleted', '__source_ts_ms', '__synced_ms']);

/** The value-schema field attribute holding Fivetran's name of a column (see src/publish/avro-schema.ts). */
const FIVETRAN_NAME = 'pipedrive.cdc.fivetran';

/**
 * Describes a destination table from the key and value schemas of its topic. With Fivetran's naming a
 * column whose field names Fivetran's column (attribute `pipedrive.cdc.fivetran`) is written under that name.
 */
export function tableFromSchemas(name: string, keySchema: AvroSchema, valueSchema: AvroSchema, naming: SinkNaming = NATIVE_NAMING): SinkTable {
  const keyFields = fieldsOf(keySchema);
  return {
    name,
    ...(naming.kind === 'native' ? {} : { naming }),
    kind: valueSchema['pipedrive.cdc.kind'] === 'history' ? 'history' : 'latest',
    // History keys carry the version time (`__source_ts_ms`) besides the entity's key: it is the version's
    // `_start`, not a column of its own.
    primaryKey: keyFields.filter((f) => !META.has(f.name)).map((f) => f.name),
    columns: fieldsOf(valueSchema)
      .filter((f) => !META.has(f.name))
      .map((f): SinkColumn => {
        const theirs = naming.kind === 'fivetran' ? f[FIVETRAN_NAME] : undefined;
        return typeof theirs === 'string' && theirs !== f.name ? { name: f.name, type: sqlTypeOf(f.type), as: theirs } : { name: f.name, type: sqlTypeOf(f.type) };
      }),
  };
}

interface AvroField {
  name: string;
  type: unknown;
  [attribute: string]: unknown;
}

function fieldsOf(schema: AvroSchema): AvroField[] {
  if (schema.type !== 'record' || !Array.isArray(schema.fields)) {
    throw new Error(`expected an Avro record schema, got ${JSON.stringify(schema).slice(0, 80)}`);
  }
  return schema.fields as AvroField[];
}

export function sqlTypeOf(type: unknown): SqlType {
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null');
    if (nonNull.length !== 1) throw new Error(`unsupported Avro union ${JSON.stringify(type)}`);
    return sqlTypeOf(nonNull[0]);
  }
  if (typeof type === 'object' && type !== null) {
    const t = type as { type: unknown; logicalType?: string };
    if (t.logicalType === 'timestamp-millis') return 'timestamp';
    if (t.logicalType === 'date') return 'date';
    if (t.type === 'enum') return 'text';
    return sqlTypeOf(t.type);
  }
  switch (type) {
    case 'long':
      return 'bigint';
    case 'int':
      return 'integer';
    case 'double':
    case 'float':
      return 'double';
    case 'string':
      return 'text';
    case 'boolean':
      return 'boolean';
    default:
      throw new Error(`unsupported Avro type ${JSON.stringify(type)}`);
  }
}
