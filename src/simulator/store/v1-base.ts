/**
 * The store shape shared by the v1-only entities (notes, files, users, ...): a Table of compact
 * records (times live in the row, not the record) whose every API write appends to the journal,
 * and offset paging the way v1 lists page (`start` + `limit` over a stable order).
 *
 * Seeded rows are inserted without journal events: they predate the simulator's history. Recents
 * reads rows by update time, so seeded and API-written rows look the same there.
 */
import type { SimClock } from '../clock.ts';
import { PURGE_AFTER_MS } from './deals.ts';
import { diffFields, type EventJournal, type ItemType } from './events.ts';
import { Table, type Row, type SortDirection, type SortField } from './table.ts';

export interface OffsetPageQuery<T> {
  start: number;
  limit: number;
  sortBy?: SortField;
  direction?: SortDirection;
  /** update_time >= sinceSec */
  sinceSec?: number | undefined;
  filter?: (row: Row<T>) => boolean;
}

export interface OffsetPage<T> {
  rows: Row<T>[];
  more: boolean;
}

export class JournaledTable<T extends object> {
  readonly table = new Table<T>();

  constructor(
    protected readonly clock: SimClock,
    private readonly journal: EventJournal,
    readonly itemType: ItemType,
    /** The journal id of a row (string ids for UUID-keyed entities). */
    private readonly journalId: (row: Row<T>) => number | string = (r) => r.id,
    /** Soft-deleted rows are purged this long after deletion (null: kept). */
    private readonly purgeAfterMs: number | null = PURGE_AFTER_MS,
  ) {}

  /** A seeded row: explicit times, no journal event. */
  seed(addSec: number, updateSec: number, build: (id: number) => T): Row<T> {
    return this.table.insert(addSec, updateSec, build);
  }

  /** An API create: update_time = now (add_time too unless given), journaled as `add`. */
  add(userId: number, build: (id: number, nowSec: number) => T, addSec?: number): Row<T> {
    const now = this.clock.nowSeconds();
    const row = this.table.insert(addSec ?? now, now, (id) => build(id, now));
    this.record('add', row, null, userId);
    return row;
  }

  /** Replace the record; update_time moves to now even when nothing changed (as Pipedrive does). */
  update(row: Row<T>, userId: number, data: T): Row<T> {
    const before = row.data;
    this.table.update(row, data, this.clock.nowSeconds());
    this.record('update', row, before, userId);
    return row;
  }

  /** Soft delete: the record carries its deleted flags; the row is purged after the purge window. */
  softDelete(row: Row<T>, userId: number, data: T): void {
    const before = row.data;
    this.table.markDeleted(row, data, this.clock.nowSeconds(), this.clock.nowMs());
    this.record('delete', row, before, userId);
  }

  /** Live or soft-deleted (not yet purged). */
  getRow(id: number): Row<T> | undefined {
    this.purge();
    return this.table.get(id);
  }

  /** Not deleted. */
  live(id: number): Row<T> | undefined {
    const row = this.getRow(id);
    return row && row.deletedAtMs === null ? row : undefined;
  }

  /** One offset page in (sort key, id) order; deleted rows are excluded unless the filter is given `includeDeleted`. */
  page(q: OffsetPageQuery<T>, includeDeleted = false): OffsetPage<T> {
    this.purge();
    const filter = q.filter ?? (() => true);
    const { rows, next } = this.table.scan({
      sortBy: q.sortBy ?? 'id',
      direction: q.direction ?? 'asc',
      sinceMs: q.sinceSec === undefined ? undefined : q.sinceSec * 1000,
      limit: q.start + q.limit,
      filter: (r) => (includeDeleted || r.deletedAtMs === null) && filter(r),
    });
    return { rows: rows.slice(q.start), more: next !== null };
  }

  /**
   * One offset page ordered by any key (ties by id): sorts the matching rows, so it is meant for the
   * rarely used sorts (v1 `sort=user_id DESC`); id/add_time/update_time use `page`.
   */
  pageBy(q: OffsetPageQuery<T>, key: (row: Row<T>) => number | string | null): OffsetPage<T> {
    const { rows } = this.page({ ...q, start: 0, limit: Number.POSITIVE_INFINITY, sortBy: 'id', direction: 'asc' });
    const sign = q.direction === 'desc' ? -1 : 1;
    rows.sort((a, b) => sign * (compare(key(a), key(b)) || a.id - b.id));
    return { rows: rows.slice(q.start, q.start + q.limit), more: rows.length > q.start + q.limit };
  }

  /** Every row (live and deleted) in id order. */
  all(): readonly Row<T>[] {
    this.purge();
    return this.table.all();
  }

  purge(): void {
    if (this.purgeAfterMs !== null) this.table.purgeDeletedBefore(this.clock.nowMs() - this.purgeAfterMs);
  }

  private record(action: 'add' | 'update' | 'delete', row: Row<T>, before: T | null, userId: number): void {
    const changes = diffFields(before as Record<string, unknown> | null, row.data as Record<string, unknown>);
    this.journal.append({ itemType: this.itemType, id: this.journalId(row), action, timeMs: this.clock.nowMs(), userId, changes });
  }
}

/** Nulls first, then numbers/strings in natural order. */
function compare(a: number | string | null, b: number | string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}
