/**
 * The table catalog's vocabulary. A table is data: the engine (capture, publish, sink) is generic over
 * these declarations, so adding a table means adding a declaration, not a code path.
 */

/** Column types as the record contract exposes them (see docs/ARCHITECTURE.md, "Record contract"). */
export const ColumnType = {
  long: 'long',
  double: 'double',
  string: 'string',
  boolean: 'boolean',
  /** Pipedrive timestamps (whole seconds); Avro long timestamp-millis. */
  timestamp: 'timestamp',
  /** Calendar dates `YYYY-MM-DD`; Avro int date. */
  date: 'date',
  /** Arrays and objects, carried as JSON text (Avro string). */
  json: 'json',
} as const;
export type ColumnType = (typeof ColumnType)[keyof typeof ColumnType];

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

/** How rows of a table are read incrementally. */
export type SyncMode =
  /**
   * v2 list sorted by update_time ascending with an inclusive `updated_since`; rows at the cursor second
   * that were already emitted (same id and same content) are skipped.
   */
  { readonly kind: 'updated-since'; readonly cursorField: string; readonly sinceParam: string };

/** How deletes become visible. */
export type DeleteDetection =
  /** Deleted rows come back in the same list (extra query params) carrying a boolean flag. */
  { readonly kind: 'flag-in-list'; readonly flag: string };

export interface TableSpec {
  /** Lower snake case; the topic is `<prefix>.<name>`. */
  readonly name: string;
  readonly api: 'v1' | 'v2';
  /** Path below the base URL, e.g. `/api/v2/deals`. */
  readonly endpoint: string;
  /** Query parameters sent on every list call (e.g. the statuses that include deleted rows). */
  readonly listParams: Readonly<Record<string, string>>;
  readonly syncMode: SyncMode;
  readonly deletes: DeleteDetection;
  readonly primaryKey: readonly string[];
  /** Field holding the row's creation time: a row whose creation time equals its cursor is a create (`c`). */
  readonly createdField: string;
  readonly columns: readonly ColumnSpec[];
}

export function defineTable<const T extends TableSpec>(spec: T): T {
  const names = new Set(spec.columns.map((c) => c.name));
  for (const key of spec.primaryKey) {
    if (!names.has(key)) throw new Error(`catalog: table ${spec.name}: primary key ${key} is not a column`);
  }
  if (!names.has(spec.syncMode.cursorField)) {
    throw new Error(`catalog: table ${spec.name}: cursor ${spec.syncMode.cursorField} is not a column`);
  }
  return spec;
}
