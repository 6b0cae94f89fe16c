/**
 * What the sink applies, independent of Kafka and of the database: tables described from the Avro
 * schemas, and per-batch changes already reduced to the last state per key.
 */
import type { SinkMarker } from './resync.ts';

export type SqlType = 'bigint' | 'integer' | 'double' | 'text' | 'boolean' | 'timestamp' | 'date';

export interface SinkColumn {
  /** The record's field name (rows are keyed by it). */
  readonly name: string;
  readonly type: SqlType;
  /** The destination column's name when it differs (SINK_NAMING=fivetran: Fivetran's name for the field). */
  readonly as?: string;
}

/**
 * What the destination calls the bookkeeping columns. Rows and the code keep the native names (`_op`,
 * `_deleted`, …); the destinations write the physical ones.
 */
export interface SinkNaming {
  readonly kind: 'native' | 'fivetran';
  readonly meta: Readonly<Record<'_op' | '_deleted' | '_source_ts' | '_synced' | '_start' | '_end' | '_active', string>>;
}

/** Today's names: `_op`, `_deleted`, `_source_ts`, `_synced`; history `_start`, `_end`, `_active`. */
export const NATIVE_NAMING: SinkNaming = {
  kind: 'native',
  meta: { _op: '_op', _deleted: '_deleted', _source_ts: '_source_ts', _synced: '_synced', _start: '_start', _end: '_end', _active: '_active' },
};

/**
 * Fivetran's system columns (`_fivetran_synced`, `_fivetran_deleted`; history mode `_fivetran_start`,
 * `_fivetran_end`, `_fivetran_active`) and Fivetran's column names where the value schema gives them;
 * `_op` and `_source_ts` have no Fivetran counterpart and keep their names.
 */
export const FIVETRAN_NAMING: SinkNaming = {
  kind: 'fivetran',
  meta: {
    _op: '_op', _deleted: '_fivetran_deleted', _source_ts: '_source_ts', _synced: '_fivetran_synced',
    _start: '_fivetran_start', _end: '_fivetran_end', _active: '_fivetran_active',
  },
};

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
  /** Column names in the destination (default NATIVE_NAMING). */
  readonly naming?: SinkNaming;
}

export type SinkValue = string | number | boolean | Date | null;

/** Bookkeeping columns every materialised table has (Fivetran's `_fivetran_deleted`/`_fivetran_synced`). */
export const META_COLUMNS: readonly SinkColumn[] = [
  { name: '_op', type: 'text' },
  { name: '_deleted', type: 'boolean' },
  { name: '_source_ts', type: 'timestamp' },
  { name: '_synced', type: 'timestamp' },
];

/**
 * Latest-state tables' re-sync bookkeeping: the generation of the row's last write (the record header
 * `pipedrive-cdc.resync`; null before the table's first re-sync). Rows older than a completed re-sync are
 * soft-deleted (src/sink/resync.ts). Named alike in both namings.
 */
export const RESYNC_COLUMN: SinkColumn = { name: '_resync', type: 'bigint' };

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
  /**
   * Deletes that carry only their key (found by absence: an id scan, a re-import): the stored row is
   * marked deleted with the delete's `_op`, `_source_ts` and `_synced` and keeps its last known values.
   */
  readonly keyOnlyDeletes: ReadonlyArray<Readonly<Record<string, SinkValue>>>;
}

/**
 * The versions and deletes of one key of a history table found in a batch, already collapsed: one version
 * per start (the content of the last record by offset), one delete per time. `seq` orders events of the
 * same time: the offset at which the version or delete first appeared (a repeated record keeps its place).
 */
export interface KeyHistory {
  readonly key: Readonly<Record<string, SinkValue>>;
  /** Business and meta columns of each version (the destination adds `_start`, `_end`, `_active`). */
  readonly versions: ReadonlyArray<{ readonly start: number; readonly seq: bigint; readonly row: Readonly<Record<string, SinkValue>> }>;
  readonly deletes: ReadonlyArray<{ readonly at: number; readonly seq: bigint }>;
}

/**
 * Versions of a history table. The destination merges them with the versions it stores for the same keys
 * (src/sink/history.ts), so a repeated or late version changes nothing it should not.
 */
export interface HistoryChanges {
  readonly kind: 'history';
  readonly table: SinkTable;
  readonly keys: readonly KeyHistory[];
}

/**
 * The offsets row of one partition moves from `expected` (null: the destination has no row for it yet) to
 * `next` (last applied offset + 1) — a compare-and-set, so a range is applied by one sink only.
 */
export interface OffsetAdvance {
  readonly topic: string;
  readonly partition: number;
  readonly expected: bigint | null;
  readonly next: bigint;
}

/** `applied: false`: the stored offset was not `expected` (another sink applied the range); nothing was written. */
export type ApplyResult = { readonly applied: true } | { readonly applied: false; readonly stored: bigint | null };

/** One partition's batch: its changes and the move of its offsets row. */
export interface ApplyItem {
  readonly changes: readonly TableChanges[];
  readonly offset: OffsetAdvance;
  /** Re-sync markers among the batch's records, recorded with its offset (src/sink/resync.ts). */
  readonly markers?: readonly SinkMarker[];
}

/**
 * A database the sink materialises into. `applyAll` is one database transaction for the batches of several
 * partitions: first the compare-and-set of every partition's offsets row, in (topic, partition) order (so a
 * concurrent applier of the same partition waits on that row, and two appliers never wait on each other in
 * a cycle), then the row changes of the batches whose compare-and-set held; everything commits or nothing
 * does, so a restart resumes exactly where the data is. A batch whose compare-and-set failed writes nothing
 * (its result says what is stored) and does not keep the others from applying. `apply` is `applyAll` of one
 * batch. Failures are DatabaseErrors (destinations/errors.ts) saying whether waiting may fix them; after a
 * lost connection the next call connects again.
 */
export interface Destination {
  readonly kind: 'duckdb' | 'postgres';
  /** Names the database in messages (never with a password). */
  readonly where: string;
  readOffsets(): Promise<Map<string, bigint>>;
  /** Creates the table, or adds the columns it lacks (schema evolution adds optional columns only). */
  ensureTable(table: SinkTable): Promise<void>;
  apply(changes: readonly TableChanges[], offset: OffsetAdvance): Promise<ApplyResult>;
  /** The results in the order of `items`. */
  applyAll(items: readonly ApplyItem[]): Promise<ApplyResult[]>;
  /** Row count per table, for the demo's summary. */
  countRows(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export const offsetKey = (topic: string, partition: number): string => `${topic}:${partition}`;
