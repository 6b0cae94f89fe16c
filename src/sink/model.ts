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
  /**
   * `latest`: one row per key (upserts, soft deletes). `history`: every version of a key as a type-2 row
   * with `_start`, `_end`, `_active` (the value schema says which, with `"pipedrive.cdc.kind": "history"`).
   */
  readonly kind: 'latest' | 'history';
  /** The topic key's fields (history tables add `_start` to the table's primary key). */
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

/** Type-2 columns of history tables (Fivetran's `_fivetran_start`, `_fivetran_end`, `_fivetran_active`). */
export const HISTORY_COLUMNS: readonly SinkColumn[] = [
  { name: '_start', type: 'timestamp' },
  { name: '_end', type: 'timestamp' },
  { name: '_active', type: 'boolean' },
];

/** The `_end` of an active version (Fivetran's max timestamp). */
export const OPEN_END = new Date('9999-12-31T23:59:59.999Z');

export type TableChanges = LatestChanges | HistoryChanges;

export interface LatestChanges {
  readonly kind: 'latest';
  readonly table: SinkTable;
  /** Full rows (business + meta columns) to insert or replace, at most one per key. */
  readonly upserts: ReadonlyArray<Readonly<Record<string, SinkValue>>>;
  /** Keys whose tombstone arrived without a row in this batch: mark them deleted, keep the row. */
  readonly tombstones: ReadonlyArray<Readonly<Record<string, SinkValue>>>;
}

/**
 * Versions of a history table, applied in this order: drop stored versions of a key starting at or after
 * `replaceFrom` (a re-sent or same-second version replaces), close the newest stored version starting
 * before `closeStored.before`, then insert `rows` (their `_end`/`_active` already computed).
 */
export interface HistoryChanges {
  readonly kind: 'history';
  readonly table: SinkTable;
  readonly replaceFrom: ReadonlyArray<{ readonly key: Readonly<Record<string, SinkValue>>; readonly start: Date }>;
  readonly closeStored: ReadonlyArray<{ readonly key: Readonly<Record<string, SinkValue>>; readonly before: Date; readonly end: Date; readonly deleted: boolean }>;
  readonly rows: ReadonlyArray<Readonly<Record<string, SinkValue>>>;
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
