/**
 * Cursor scans over sort keys the Table does not index (activity due_date, product name, stage
 * order_nr, deal-product deal_id, ...) and over small candidate sets (ids=, deal_ids=). Rows are
 * ordered by (key, id); a position names the first row of the next page, as Table positions do.
 */
import type { Row, SortDirection } from './table.ts';

export type KeyValue = number | string | null;

export interface KeyPosition {
  value: KeyValue;
  id: number;
}

export type KeyOf<T> = (row: Row<T>) => KeyValue;

/** null first, then numbers, then strings (code-unit order: deterministic, locale-free). */
export function compareKeys(a: KeyValue, b: KeyValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : 1;
}

/** Sort rows in place by (key, id) ascending. */
export function sortRows<T>(rows: Row<T>[], key: KeyOf<T>): Row<T>[] {
  return rows.sort((a, b) => compareKeys(key(a), key(b)) || a.id - b.id);
}

export interface PageOptions<T> {
  direction: SortDirection;
  from?: KeyPosition | undefined;
  limit: number;
  accept: (row: Row<T>) => boolean;
}

/** One page of (key, id)-ascending `sorted`, walked in `direction` from `from` (inclusive). */
export function pageSorted<T>(sorted: readonly Row<T>[], key: KeyOf<T>, opts: PageOptions<T>): { rows: Row<T>[]; next: KeyPosition | null } {
  const out: Row<T>[] = [];
  const cmp = (r: Row<T>, p: KeyPosition): number => compareKeys(key(r), p.value) || r.id - p.id;
  // First index whose (key, id) >= from.
  const lowerBound = (p: KeyPosition): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(sorted[mid]!, p) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const asc = opts.direction === 'asc';
  let i: number;
  if (asc) i = opts.from ? lowerBound(opts.from) : 0;
  else i = opts.from ? lowerBound({ value: opts.from.value, id: opts.from.id + 1 }) - 1 : sorted.length - 1;
  for (; asc ? i < sorted.length : i >= 0; i += asc ? 1 : -1) {
    const r = sorted[i]!;
    if (!opts.accept(r)) continue;
    if (out.length === opts.limit) return { rows: out, next: { value: key(r), id: r.id } };
    out.push(r);
  }
  return { rows: out, next: null };
}

/** A lazily built (key, id) index over all rows, rebuilt after `invalidate()` (any write). */
export class KeyIndex<T> {
  private sorted: Row<T>[] | null = null;

  constructor(readonly key: KeyOf<T>) {}

  invalidate(): void {
    this.sorted = null;
  }

  rows(all: readonly Row<T>[]): readonly Row<T>[] {
    this.sorted ??= sortRows([...all], this.key);
    return this.sorted;
  }
}

/** update_time bounds as the Table applies them: whole seconds, since inclusive, until exclusive. */
export function updateRange(sinceMs: number | undefined, untilMs: number | undefined): (row: Row<unknown>) => boolean {
  const since = sinceMs === undefined ? -Infinity : Math.ceil(sinceMs / 1000);
  const until = untilMs === undefined ? Infinity : Math.ceil(untilMs / 1000);
  return (r) => r.updateSec >= since && r.updateSec < until;
}
