import { fivetranColumnNames } from '../catalog/fivetran.ts';
import type { ColumnSpec, ColumnType, TableSpec } from '../catalog/types.ts';

import type { AvroSchema } from '../registry/client.ts';

/** Metadata fields every value carries, in the style of Debezium's ExtractNewRecordState (`add.fields`). */
export const META_FIELDS = ['__op', '__deleted', '__source_ts_ms', '__synced_ms'] as const;

const avroType: Record<ColumnType, unknown> = {
  long: 'long',
  double: 'double',
  string: 'string',
  boolean: 'boolean',
  timestamp: { type: 'long', logicalType: 'timestamp-millis' },
  date: { type: 'int', logicalType: 'date' },
  json: { type: 'string', 'connect.name': 'io.debezium.data.Json' },
};

/** Avro names allow [A-Za-z0-9_] only; table names are lower snake case already. */
function namespace(prefix: string, spec: TableSpec): string {
  return `${prefix}.${spec.name}`.replace(/[^A-Za-z0-9_.]/g, '_');
}

function field(col: ColumnSpec, optional: boolean): AvroSchema {
  const t = avroType[col.type];
  return optional ? { name: col.name, type: ['null', t], default: null } : { name: col.name, type: t };
}

/**
 * The key field of history topics besides the primary key: the version's source time (the value's
 * `__source_ts_ms`), so a sink that upserts by record key keeps every version. The default (0) keeps the
 * schema BACKWARD-compatible with keys written before it existed.
 */
export const VERSION_KEY_FIELD = '__source_ts_ms';

/**
 * Key schema: a record of the primary-key columns (Debezium-style `<ns>.Key`); history topics add the
 * version time (VERSION_KEY_FIELD).
 */
export function keySchema(prefix: string, spec: TableSpec): AvroSchema {
  const cols = spec.primaryKey.map((k) => spec.columns.find((c) => c.name === k)!);
  const version = spec.sync.kind === 'history' ? [{ name: VERSION_KEY_FIELD, type: avroType.timestamp, default: 0 }] : [];
  return { type: 'record', name: 'Key', namespace: namespace(prefix, spec), fields: [...cols.map((c) => field(c, false)), ...version] };
}

/** Field attribute naming the column as Fivetran's schema does, where that differs (SINK_NAMING=fivetran). */
export const FIVETRAN_NAME_ATTRIBUTE = 'pipedrive.cdc.fivetran';

/**
 * Value schema: the flattened row (every column optional, default null, so new columns evolve compatibly
 * under BACKWARD) plus the metadata fields. A column Fivetran's schema names differently carries that
 * name in the attribute FIVETRAN_NAME_ATTRIBUTE (history tables as their base table).
 */
export function valueSchema(prefix: string, spec: TableSpec): AvroSchema {
  const fivetran = fivetranColumnNames(spec.sync.kind === 'history' ? spec.sync.of : spec.name);
  const named = (col: ColumnSpec, f: AvroSchema): AvroSchema => (fivetran.has(col.name) ? { ...f, [FIVETRAN_NAME_ATTRIBUTE]: fivetran.get(col.name)! } : f);
  return {
    type: 'record',
    name: 'Value',
    namespace: namespace(prefix, spec),
    // Tells sinks to keep every version (type-2) instead of the latest state.
    ...(spec.sync.kind === 'history' ? { 'pipedrive.cdc.kind': 'history' } : {}),
    fields: [
      ...spec.columns.map((c) => named(c, field(c, !spec.primaryKey.includes(c.name)))),
      { name: '__op', type: { type: 'enum', name: 'Op', symbols: ['r', 'c', 'u', 'd'] } },
      { name: '__deleted', type: 'boolean' },
      { name: '__source_ts_ms', type: avroType.timestamp },
      { name: '__synced_ms', type: avroType.timestamp },
    ],
  };
}
