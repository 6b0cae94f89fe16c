import type { TableSpec } from '../catalog/types.ts';
import { initialOffset, type ResyncState, type TableOffset } from './offset.ts';

/**
 * Re-sync of a table: its offset starts over (a first sync: every row is read and published again, `r`),
 * with a new generation. The producer publishes the reset offset in one transaction with a begin marker on
 * every partition of the table's topics, and the end markers with the batch that completes the re-import
 * (src/producer-resync.ts). A sink that saw every partition pass the end marker knows that a row the
 * re-sync did not write again no longer exists in Pipedrive (purged while nobody was watching), and
 * soft-deletes it (src/sink/resync.ts).
 */

/**
 * The offset a re-sync starts from: the initial one (cursor, import, archived list and id scan forgotten),
 * keeping what describes the table rather than the position in it — its frozen custom column names and
 * field types, the columns the schema-change policy blocked.
 */
export function resyncOffset(prev: TableOffset, generation: number, startedAt: number): TableOffset {
  const { customColumns, customFieldTypes, newColumnsBlocked } = prev;
  return {
    ...initialOffset,
    ...(customColumns ? { customColumns } : {}),
    ...(customFieldTypes ? { customFieldTypes } : {}),
    ...(newColumnsBlocked ? { newColumnsBlocked } : {}),
    resync: { generation, startedAt, done: false },
  };
}

/** A re-sync whose re-import has not completed yet (it resumes from the offset after a restart). */
export function resyncPending(offset: TableOffset | undefined): offset is TableOffset & { resync: ResyncState } {
  return offset?.resync !== undefined && !offset.resync.done;
}

/**
 * True once the offset says the whole table was read since it started over: the first full pass is done,
 * no backfill or import is in progress, and a table with an archived list has read that list once too.
 */
export function resyncComplete(spec: TableSpec, offset: TableOffset): boolean {
  if (!offset.snapshotDone || offset.backfill !== undefined || offset.import !== undefined) return false;
  const archived = spec.sync.kind === 'updated-since' && spec.sync.archived !== undefined;
  return !archived || offset.archived?.snapshotDone === true;
}

/**
 * The tables whose topics get the markers: the table, its child tables (their rows are published again with
 * their parents') and its history table. Not its change log (deal_change): its rows are immutable facts
 * read for changed rows only, not published again as a whole, so a sweep there would delete live ones.
 */
export function markerTables(spec: TableSpec): string[] {
  return [spec.name, ...(spec.children ?? []).map((c) => c.table), ...(spec.history ? [spec.history] : [])];
}

/**
 * The generation of a new re-sync: the time it was asked for (readable, and larger than any earlier one),
 * unless a clock set back makes that no larger than the table's last generation.
 */
export function nextGeneration(requestedAt: number, previous: readonly (number | undefined)[]): number {
  return Math.max(requestedAt, ...previous.map((g) => (g ?? 0) + 1));
}
