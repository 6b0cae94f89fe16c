/**
 * What the sink applies, independent of Kafka and of the database: tables described from the Avro
 * schemas, and per-batch changes already reduced to the last state per key.
 */
export type SqlType = 'bigint' | 'integer' | 'double' | 'text' | 'boolean' | 'timestamp' | 'date';

export interface SinkColumn {
  readonly name: string;
  readonly type: SqlType;
}

export interface SinkTable {
  readonly name: string;
  readonly primaryKey: readonly string[];
  /** Business columns from the value schema (metadata columns are added by the destination). */
  readonly columns: readonly SinkColumn[];
}

export type SinkValue = string | number | boolean | Date | null;

/** Bookkeeping columns every materialised table has (Fivetran's `_fivetran_deleted`/`_fivetran_synced`). */
export const META_COLUMNS: readonly SinkColumn[] = [
  { name: '_op', type: 'text' },
  { name: '_deleted', type: 'boolean' },
  { name: '_source_ts', type: 'timestamp' },
  { name: '_synced', type: 'timestamp' },
];

export interface TableChanges {
  readonly table: SinkTable;
  /** Full rows (business + meta columns) to insert or replace, at most one per key. */
  readonly upserts: ReadonlyArray<Readonly<Record<string, SinkValue>>>;
  /** Keys whose tombstone arrived without a row in this batch: mark them deleted, keep the row. */
  readonly tombstones: ReadonlyArray<Readonly<Record<string, SinkValue>>>;
}

export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to apply (last applied + 1). */
  readonly nextOffset: bigint;
}

/**
 * A database the sink materialises into. `apply` is one database transaction holding the row changes and
 * the consumed offsets: both commit or neither does, so a restart resumes exactly where the data is.
 */
export interface Destination {
  readonly kind: string;
  readOffsets(): Promise<Map<string, bigint>>;
  /** Creates the table, or adds the columns it lacks (schema evolution adds optional columns only). */
  ensureTable(table: SinkTable): Promise<void>;
  apply(changes: readonly TableChanges[], offsets: readonly PartitionOffset[]): Promise<void>;
  /** Row count per table, for the demo's summary. */
  countRows(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export const offsetKey = (topic: string, partition: number): string => `${topic}:${partition}`;
