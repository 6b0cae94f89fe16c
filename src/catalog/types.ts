/**
 * The table catalog's vocabulary. A table is data: capture, publish and the sink are generic over these
 * declarations, so adding a table means adding a declaration, not a code path.
 */

/** Column types as the record contract exposes them (see docs/ARCHITECTURE.md, "Record contract"). */
export const ColumnType = {
  long: 'long',
  double: 'double',
  string: 'string',
  boolean: 'boolean',
  /** Pipedrive timestamps (whole seconds; v1 `YYYY-MM-DD HH:MM:SS` UTC or v2 RFC 3339); Avro timestamp-millis. */
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
  /**
   * Where the value sits in the API object: a dot path (`address.locality`), default the column name.
   * `$parent.<field>` reads the parent row of a child table; `$index` the element's position; `$value` a
   * scalar array element; `$item.<field>` the recents/mail wrapper around the object.
   */
  readonly path?: string;
  /**
   * Computes the value from the API object instead of a path. Only for columns made at run time (custom
   * fields: option ids → labels); declared tables stay plain data.
   */
  readonly read?: (raw: unknown) => unknown;
  /**
   * Pipedrive always returns a value here: a row without one is malformed and fails its batch (the cursor
   * stays before it). Primary-key columns, and the cursor field of lists sorted by it, are required anyway.
   */
  readonly required?: true;
}

/** Where a table's custom fields are defined, and how its rows carry them. */
export interface CustomFieldsSpec {
  /** The field catalog list (v2 `/api/v2/dealFields`, …; leads use the deal fields). */
  readonly fields: ListSpec;
  /** v2 rows nest values under `custom_fields` with structured values; v1 rows carry them flat with sub-keys. */
  readonly shape: 'v2' | 'v1';
}

/** How one list is read. */
export interface ListSpec {
  /** Path below the base URL; `{id}` is the parent id for per-parent lists. */
  readonly endpoint: string;
  readonly pagination: 'v2-cursor' | 'v1-offset' | 'v1-cursor' | 'none';
  /** Query parameters sent on every call. */
  readonly params?: Readonly<Record<string, string>>;
  /** Largest page the endpoint accepts (v2: 500; v1 files: 100; call logs: 50). */
  readonly limit?: number;
  /** Where the rows sit in the body; default `data`. e.g. `data.goals`. */
  readonly rowsPath?: string;
  /**
   * Per-parent lists: the parent list to walk, and the parent field filling `{id}` (in the endpoint and in
   * `params`; `{<path>}` fills any other parent field). With `batch`, up to that many ids are joined by commas
   * into one call (`deal_ids=1,2,…`); rows then cannot refer to `$parent`.
   */
  readonly forEachParent?: {
    readonly list: ListSpec;
    readonly idField: string;
    readonly batch?: number;
    /**
     * Fields of the parent (v2 deal include_fields counters and last mail times, free in the parent list)
     * that tell whether it has anything at this endpoint (one of them > 0 or set) and, as their values'
     * signature, whether that changed since the parent's last walk. A parent with nothing is not called; an
     * unbatched one whose signature is unchanged is not called either (its rows are those of its last walk;
     * see capture/parent-memo.ts). Tables with the same endpoint and counters share one walk.
     */
    readonly counters?: readonly string[];
  };
  /** Each listed item wraps the row at this path (mail: `{object, timestamp, data}`); columns read the wrapper as `$item`. */
  readonly itemPath?: string;
}

/** How rows of a table are read incrementally. */
export type SyncMode =
  /**
   * v2 list sorted by update time ascending with an inclusive `updated_since` (same-second dedupe). With an
   * exclusive `untilParam` (`updated_until`), the first sync is priority-first: the last 30 days first, then
   * the older rows. `archived`: rows leave `list` when archived and are listed there instead (deals since
   * 2025-07-15), read the same way with a cursor of their own, every `everyMs`. `sortQuery`: the parameters
   * that sort the list by the cursor ascending when they are not v2's `sort_by`/`sort_direction` (v1 leads:
   * `sort=update_time ASC`). A `v1-offset` list is not paged by offset within a pass but re-anchored at the
   * last row's time after each page (rows updated meanwhile move to the end of the list, and would shift
   * unread rows below the next offset).
   */
  | {
      readonly kind: 'updated-since';
      readonly list: ListSpec;
      readonly cursorField: string;
      readonly sinceParam: string;
      readonly untilParam?: string;
      readonly sortQuery?: Readonly<Record<string, string>>;
      readonly archived?: { readonly list: ListSpec; readonly everyMs: number };
    }
  /** v2 list without an update filter: sort by update time descending and stop at the cursor. */
  | { readonly kind: 'sorted-desc'; readonly list: ListSpec; readonly cursorField: string }
  /**
   * v1 `/recents?items=<item>` since the checkpoint. A checkpoint outside Recents' 30-day window (stopped for
   * weeks, table newly enabled) triggers a full import from `fullList` first.
   */
  | { readonly kind: 'recents'; readonly item: string; readonly cursorField: string; readonly fullList: ListSpec }
  /** Read everything and diff with the previous import: on every sync, or once a day. */
  | { readonly kind: 'reimport'; readonly list: ListSpec; readonly every: 'sync' | 'day' }
  /** Rows come only from a parent table's rows (see ChildSpec); the table has no API call of its own. */
  | { readonly kind: 'child'; readonly parent: string }
  /** Every version of another table's rows (type-2 in the sink); fed by that table's source. */
  | { readonly kind: 'history'; readonly of: string }
  /** Field-level changes of another table's rows, from its changelog (see ChangelogSpec). */
  | { readonly kind: 'changelog'; readonly of: string };

/** How deletes become visible. */
export type DeleteDetection =
  /** A row whose `field` equals `value` is deleted (deals `is_deleted`, notes `active_flag=false`, …). */
  | { readonly kind: 'flag'; readonly field: string; readonly value: unknown }
  /** Rows missing from a full re-import are deleted. */
  | { readonly kind: 'vanish' }
  /**
   * A periodic scan of all ids of the list; ids no longer listed are deleted. `getOne` (`…/{id}`): the
   * endpoint that reads one row back, so a `delete.<entity>` webhook's id is confirmed and deleted at once
   * instead of at the next scan (capture/delete-hints.ts).
   */
  | { readonly kind: 'id-scan'; readonly everyMs: number; readonly list?: ListSpec; readonly getOne?: string }
  /** Children: removed when the parent's current set no longer holds them. */
  | { readonly kind: 'with-parent' }
  | { readonly kind: 'none' };

export interface ChangelogSpec {
  /** `{id}` is the row id. Entries: {field_key, old_value, new_value, time, actor_user_id, …}, newest first. */
  readonly list: ListSpec;
  /** The field change table (one row per changed field per second). */
  readonly table: string;
  /** Changelog field keys that name a column differently (v1 keys vs v2 columns). */
  readonly fieldKeys?: Readonly<Record<string, string>>;
}

/** A table derived from an array inside the parent's rows (person.emails → person_email). */
export interface ChildSpec {
  readonly table: string;
  /** Dot path of the array in the parent API object. */
  readonly from: string;
}

export interface TableSpec {
  /** Lower snake case; the topic is `<prefix>.<name>`. */
  readonly name: string;
  readonly api: 'v1' | 'v2';
  readonly sync: SyncMode;
  readonly deletes: readonly DeleteDetection[];
  readonly primaryKey: readonly string[];
  /** Field holding the row's creation time: a row created in the second of its update is a create (`c`). */
  readonly createdField?: string;
  readonly columns: readonly ColumnSpec[];
  readonly children?: readonly ChildSpec[];
  /** Custom fields become named columns (see capture/custom-fields.ts). */
  readonly customFields?: CustomFieldsSpec;
  /** The history table fed with every version of this table's rows (Fivetran's history mode). */
  readonly history?: string;
  /**
   * A per-row field change log (v1 `/deals/{id}/changelog`): read for every new or changed row to rebuild the
   * versions between polls (and before the first sync) into the history table, and published as `table`.
   */
  readonly changelog?: ChangelogSpec;
  /**
   * The v1 Recents item type whose entries show this table's changes (Recents tables: their `item`): a pass
   * starts with one Recents call shared by all such tables, and is skipped when it lists nothing of this
   * type since the table's last pass (capture/recents-gate.ts). The list stays the truth.
   */
  readonly recentsItem?: string;
  /** What Fivetran calls the table when it differs (DEAL_HISTORY's latest state is `deal`). */
  readonly fivetranName?: string;
  /** One line for docs: the mechanism and its worst-case delay. */
  readonly notes?: string;
}

export function defineTable<const T extends TableSpec>(spec: T): T {
  const names = new Set(spec.columns.map((c) => c.name));
  for (const key of spec.primaryKey) {
    if (!names.has(key)) throw new Error(`catalog: table ${spec.name}: primary key ${key} is not a column`);
  }
  const cursor = 'cursorField' in spec.sync ? spec.sync.cursorField : undefined;
  if (cursor !== undefined && !names.has(cursor)) {
    throw new Error(`catalog: table ${spec.name}: cursor ${cursor} is not a column`);
  }
  for (const d of spec.deletes) {
    if (d.kind === 'flag' && !names.has(d.field)) throw new Error(`catalog: table ${spec.name}: delete flag ${d.field} is not a column`);
  }
  return spec;
}

/**
 * The history table of a table (Fivetran's history mode): the same columns — custom ones included — one
 * record per version, fed by the base table's source.
 */
export function historyOf(spec: TableSpec): TableSpec | undefined {
  if (!spec.history) return undefined;
  return {
    name: spec.history,
    api: spec.api,
    sync: { kind: 'history', of: spec.name },
    deletes: [],
    primaryKey: spec.primaryKey,
    columns: spec.columns,
    notes: `every version of ${spec.name} (type-2 in the sink)`,
  };
}
