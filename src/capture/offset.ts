import type { PagePosition } from '../pipedrive/lists.ts';

/**
 * A table's source offset, stored as JSON in the state topic. Pipedrive timestamps have whole seconds, so
 * the next query is inclusive of the cursor second and `emittedAtCursor` remembers exactly which versions
 * (row key → content hash) at that second were already published: none is missed, none repeated.
 */
export interface TableOffset {
  readonly version: 1;
  /** Inclusive lower bound (epoch ms) for the next incremental query; null before the first row. */
  readonly cursorMs: number | null;
  /** Row key → content hash of the versions already published whose update time equals the cursor. */
  readonly emittedAtCursor: Readonly<Record<string, string>>;
  /**
   * With a lateness window: row key → `<update ms>:<content hash>` of the versions published with an update
   * time inside the window below the cursor. Rows are read again from cursor − window; those listed here
   * were published, the others arrived late (stamped before they became visible) and are published now.
   */
  readonly withinWindow?: Readonly<Record<string, string>>;
  /** True once a full pass from the beginning has completed (rows after that are c/u, before r). */
  readonly snapshotDone: boolean;
  /**
   * Written by versions before 0.2 only: re-imported tables' key → content hash of the last import. Read
   * once as the base of the next diff (the hashes now travel in record headers) and then dropped.
   */
  readonly imported?: Readonly<Record<string, string>>;
  /** A full import in progress (re-import, Recents' full import): where it resumes after a restart. */
  readonly import?: ImportProgress;
  /** Source time (the API's clock) of the start of the last complete full import. */
  readonly lastImportMs?: number;
  /** Source time of the start of the last complete id scan (periodic delete detection). */
  readonly lastIdScanMs?: number;
  /**
   * Priority-first first sync: rows updated in the last 30 days (`cursorMs` starts at `untilMs`) are read
   * first, then older ones are backfilled below `untilMs` with their own cursor. Absent once complete.
   */
  readonly backfill?: {
    readonly untilMs: number;
    /** The first pass over the recent window is complete (the table is live from then on). */
    readonly recentDone: boolean;
    readonly cursorMs: number | null;
    readonly emittedAtCursor: Readonly<Record<string, string>>;
  };
  /** Tables whose archived rows have a list of their own: that list's cursor (see ArchivedSource). */
  readonly archived?: TableOffset;
  /** Custom field hash → frozen column name (written with the first batch that uses a new name). */
  readonly customColumns?: Readonly<Record<string, string>>;
  /** Custom field hash → its field type: a field deleted in Pipedrive keeps its columns' types. */
  readonly customFieldTypes?: Readonly<Record<string, string>>;
  /**
   * Custom-field columns that appeared after the table's first field catalog read while the schema-change
   * policy blocked new columns (SCHEMA_CHANGES=block-all): not published until enabled (rules.ts).
   */
  readonly newColumnsBlocked?: readonly string[];
  /**
   * The table's last re-sync (capture/resync.ts): its generation (every record published since carries it in
   * the header `pipedrive-cdc.resync`), when it started, and whether its re-import completed (the end markers
   * were published). Absent for a table never re-synced.
   */
  readonly resync?: ResyncState;
}

export interface ResyncState {
  readonly generation: number;
  /** Epoch ms the re-sync was started at (its begin markers' `pipedrive-cdc.resync-started-at`). */
  readonly startedAt: number;
  /** True once the re-import read the whole table and the end markers went out with its last batch. */
  readonly done: boolean;
}

export interface ImportProgress {
  /** Source time (the API's clock, whole seconds) the import started at: the version time of its rows. */
  readonly startedMs: number;
  /** The position of the next unit to read; `end` once every unit was read (deletes being published). */
  readonly resumeAt: PagePosition | 'end';
}

export const initialOffset: TableOffset = { version: 1, cursorMs: null, emittedAtCursor: {}, snapshotDone: false };

/** Parses a stored offset; anything unreadable is an error naming the table (never silently restarted). */
export function parseOffset(table: string, json: unknown): TableOffset {
  const o = json as Partial<TableOffset> | null;
  const optionalNumber = (v: unknown) => v === undefined || typeof v === 'number';
  const ok =
    typeof o === 'object' &&
    o !== null &&
    o.version === 1 &&
    (o.cursorMs === null || typeof o.cursorMs === 'number') &&
    typeof o.emittedAtCursor === 'object' &&
    o.emittedAtCursor !== null &&
    typeof o.snapshotDone === 'boolean' &&
    (o.imported === undefined || (typeof o.imported === 'object' && o.imported !== null)) &&
    (o.import === undefined || (typeof o.import === 'object' && o.import !== null && typeof o.import.startedMs === 'number' && (o.import.resumeAt === 'end' || (typeof o.import.resumeAt === 'object' && o.import.resumeAt !== null)))) &&
    optionalNumber(o.lastImportMs) &&
    optionalNumber(o.lastIdScanMs) &&
    (o.resync === undefined || (typeof o.resync === 'object' && o.resync !== null && typeof o.resync.generation === 'number' && typeof o.resync.startedAt === 'number' && typeof o.resync.done === 'boolean'));
  if (!ok) {
    throw new Error(
      `state topic: offset of table "${table}" is not readable (${JSON.stringify(json).slice(0, 120)}); ` +
        `reset it by writing a null value for its key to the state topic (a re-sync of the table)`,
    );
  }
  return o as TableOffset;
}
