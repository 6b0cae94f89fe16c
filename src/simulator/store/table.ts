/**
 * A generic in-memory entity table: ids ascending from 1, whole-second add/update times, soft
 * delete with purge, a version counter per row, and sorted indexes for cursor pagination.
 * Entity stores (deals, later persons, organizations, ...) wrap one of these and own the field
 * semantics; the table owns ordering and positions.
 */

export type SortField = 'id' | 'update_time' | 'add_time';
export type SortDirection = 'asc' | 'desc';

export interface Row<T> {
  readonly id: number;
  addSec: number;
  updateSec: number;
  /** Clock ms when soft-deleted; null while alive. */
  deletedAtMs: number | null;
  /** 1 on insert, +1 on every change (update or delete). */
  version: number;
  data: T;
}

/** A place in a sort order: the sort key's value (id or epoch seconds) and the row id as tiebreak. */
export interface Position {
  value: number;
  id: number;
}

export interface ScanOptions<T> {
  sortBy: SortField;
  direction: SortDirection;
  /** Inclusive start position (decoded from a cursor). */
  from?: Position | undefined;
  /** update_time >= sinceMs */
  sinceMs?: number | undefined;
  /** update_time < untilMs */
  untilMs?: number | undefined;
  limit: number;
  filter: (row: Row<T>) => boolean;
}

export interface ScanResult<T> {
  rows: Row<T>[];
  /** Position of the first row of the next page, or null at the end. */
  next: Position | null;
}

export function sortKey(row: Row<unknown>, field: SortField): number {
  return field === 'id' ? row.id : field === 'add_time' ? row.addSec : row.updateSec;
}

export class Table<T> {
  /**
   * Every row in id order; ids are assigned ascending so appends keep it sorted, and get(id) is a
   * binary search here (no id → row Map: at millions of rows its ~40 bytes a row are the cost).
   */
  private byId: Row<T>[] = [];
  /** Lazily built (key, id)-ascending indexes; dropped when a key they sort by changes. */
  private readonly indexes = new Map<SortField, Row<T>[]>();
  private nextId = 1;
  /** Earliest deletedAtMs among rows still held, so purging is free when nothing is due. */
  private oldestDeletedMs = Infinity;

  get size(): number {
    return this.byId.length;
  }

  get(id: number): Row<T> | undefined {
    let lo = 0;
    let hi = this.byId.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.byId[mid]!.id < id) lo = mid + 1;
      else hi = mid;
    }
    const row = this.byId[lo];
    return row !== undefined && row.id === id ? row : undefined;
  }

  all(): readonly Row<T>[] {
    return this.byId;
  }

  insert(addSec: number, updateSec: number, build: (id: number) => T): Row<T> {
    const id = this.nextId++;
    const row: Row<T> = { id, addSec, updateSec, deletedAtMs: null, version: 1, data: build(id) };
    this.byId.push(row);
    this.indexes.clear();
    return row;
  }

  /** Replace a row's data and update time; bumps the version. */
  update(row: Row<T>, data: T, updateSec: number): void {
    row.data = data;
    row.version += 1;
    if (row.updateSec !== updateSec) {
      row.updateSec = updateSec;
      this.indexes.delete('update_time');
    }
  }

  markDeleted(row: Row<T>, data: T, updateSec: number, atMs: number): void {
    row.deletedAtMs = atMs;
    this.oldestDeletedMs = Math.min(this.oldestDeletedMs, atMs);
    this.update(row, data, updateSec);
  }

  /** Permanently drop rows soft-deleted at or before cutoffMs. Returns their ids. */
  purgeDeletedBefore(cutoffMs: number): number[] {
    if (this.oldestDeletedMs > cutoffMs) return [];
    this.oldestDeletedMs = Infinity;
    for (const r of this.byId) {
      if (r.deletedAtMs !== null && r.deletedAtMs > cutoffMs) this.oldestDeletedMs = Math.min(this.oldestDeletedMs, r.deletedAtMs);
    }
    const isDoomed = (r: Row<T>): boolean => r.deletedAtMs !== null && r.deletedAtMs <= cutoffMs;
    const doomed = this.byId.filter(isDoomed);
    if (doomed.length === 0) return [];
    this.byId = this.byId.filter((r) => !isDoomed(r));
    this.indexes.clear();
    return doomed.map((r) => r.id);
  }

  /** One page in (key, id) order starting at `from`, plus the position of the next page. */
  scan(opts: ScanOptions<T>): ScanResult<T> {
    const { sortBy, direction, limit } = opts;
    const arr = this.index(sortBy);
    const onUpdate = sortBy === 'update_time';
    // Bounds in whole seconds so the index can be entered by binary search.
    const sinceSec = opts.sinceMs === undefined ? undefined : Math.ceil(opts.sinceMs / 1000);
    const untilSec = opts.untilMs === undefined ? undefined : Math.ceil(opts.untilMs / 1000);
    const inRange = (r: Row<T>): boolean =>
      (sinceSec === undefined || r.updateSec >= sinceSec) && (untilSec === undefined || r.updateSec < untilSec);

    const out: Row<T>[] = [];
    let next: Position | null = null;
    const take = (r: Row<T>): boolean => {
      if (!inRange(r) || !opts.filter(r)) return true;
      if (out.length < limit) {
        out.push(r);
        return true;
      }
      next = { value: sortKey(r, sortBy), id: r.id };
      return false;
    };

    if (direction === 'asc') {
      let i = opts.from ? lowerBound(arr, opts.from, sortBy) : 0;
      if (onUpdate && sinceSec !== undefined) i = Math.max(i, lowerBound(arr, { value: sinceSec, id: 0 }, sortBy));
      for (; i < arr.length; i++) {
        const r = arr[i]!;
        if (onUpdate && untilSec !== undefined && r.updateSec >= untilSec) break;
        if (!take(r)) break;
      }
    } else {
      // Last index whose (key, id) <= from, walking down.
      let i = opts.from ? lowerBound(arr, { value: opts.from.value, id: opts.from.id + 1 }, sortBy) - 1 : arr.length - 1;
      if (onUpdate && untilSec !== undefined) i = Math.min(i, lowerBound(arr, { value: untilSec, id: 0 }, sortBy) - 1);
      for (; i >= 0; i--) {
        const r = arr[i]!;
        if (onUpdate && sinceSec !== undefined && r.updateSec < sinceSec) break;
        if (!take(r)) break;
      }
    }
    return { rows: out, next };
  }

  private index(field: SortField): Row<T>[] {
    if (field === 'id') return this.byId;
    let idx = this.indexes.get(field);
    if (!idx) {
      idx = [...this.byId].sort((a, b) => sortKey(a, field) - sortKey(b, field) || a.id - b.id);
      this.indexes.set(field, idx);
    }
    return idx;
  }
}

/** First index whose (key, id) >= pos. */
function lowerBound<T>(arr: readonly Row<T>[], pos: Position, field: SortField): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = arr[mid]!;
    const c = sortKey(r, field) - pos.value || r.id - pos.id;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
