/**
 * The ordered entries recents pages through, kept up to date between requests. One list per item
 * type, built on first use for the widest window (now − 30 days) from the store's rows by update
 * time. Afterwards a request folds only the journal's new events into the lists it asks for (a
 * written item gets an entry at its new update time; its old entry goes stale by itself) and
 * merges the requested types from the requested since. Polling stays cheap on large accounts: no
 * re-sorting after writes, no rescans when since_timestamp moves forward, and a deal write costs
 * nothing to a poll of `items=note`.
 *
 * A list is rebuilt when its table's size changed without journal events (seeding, purges); all
 * are when a request reaches further back than the built window or the journal was trimmed.
 */
import type { ChangeEvent } from '../../store/events.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import { RECENTS_ITEMS, type RecentsItem, type RecentsSource } from './recents-sources.ts';

export interface RecentsEntry {
  readonly sec: number;
  readonly rank: number;
  readonly row: Row<unknown>;
  readonly source: RecentsSource;
}

interface TypeList {
  /** Sorted by (sec, id); an entry is current while its sec equals its row's update time. */
  entries: RecentsEntry[];
  /** Journal seq folded up to, and the table size that implies. */
  seq: number;
  size: number;
  stale: number;
  /** Bumped on every change, so unchanged views are reused. */
  version: number;
}

const order = (a: RecentsEntry, b: RecentsEntry): number => a.sec - b.sec || a.rank - b.rank || a.row.id - b.row.id;
const current = (e: RecentsEntry): boolean => e.sec === e.row.updateSec;

export class RecentsIndex {
  private fromSec = Number.POSITIVE_INFINITY;
  private lists: (TypeList | undefined)[] = [];
  private lastSeq = 0;
  private builds = 0;
  private view: { key: string; entries: RecentsEntry[] } | undefined;
  private readonly sources: RecentsSource[];

  constructor(private readonly store: SimStore, sources: Record<RecentsItem, RecentsSource>, private readonly windowSec: number) {
    this.sources = RECENTS_ITEMS.map((i) => sources[i]);
  }

  /** Entries changed at or after fromSec, of the given item types, in recents order. */
  entries(fromSec: number, items: readonly RecentsItem[]): RecentsEntry[] {
    const events = this.store.journal.since(Number.NEGATIVE_INFINITY);
    const seq = events.length === 0 ? 0 : events[events.length - 1]!.seq;
    if (fromSec < this.fromSec || seq < this.lastSeq) {
      this.fromSec = Math.min(fromSec, this.store.clock.nowSeconds() - this.windowSec);
      this.lists = [];
    }
    this.lastSeq = seq;
    const ranks = items.map((i) => RECENTS_ITEMS.indexOf(i));
    for (const rank of ranks) this.refresh(rank, events, seq);
    const key = `${this.builds}|${this.fromSec}|${fromSec}|${ranks.map((r) => `${r}:${this.lists[r]!.version}`).join(',')}`;
    if (this.view?.key !== key) {
      const parts = ranks.map((r) => this.lists[r]!.entries).map((list) => list.slice(position(list, fromSec, Number.NEGATIVE_INFINITY)).filter(current));
      this.view = { key, entries: mergeAll(parts) };
    }
    return this.view.entries;
  }

  private refresh(rank: number, events: readonly ChangeEvent[], seq: number): void {
    const source = this.sources[rank]!;
    source.purge();
    let list = this.lists[rank];
    if (list && list.seq < seq) {
      let i = events.length;
      while (i > 0 && events[i - 1]!.seq > list.seq) i--;
      for (const e of events.slice(i)) if (e.itemType === source.item && typeof e.id === 'number') this.fold(list, rank, e);
      list.seq = seq;
      if (list.stale > Math.max(1000, list.entries.length / 10)) {
        list.entries = list.entries.filter(current);
        list.stale = 0;
      }
    }
    if (!list || list.size !== source.table.size) {
      // Filter then sort only the window: cheaper than the table's full update_time index.
      const entries: RecentsEntry[] = [];
      for (const row of source.table.all()) if (row.updateSec >= this.fromSec) entries.push({ sec: row.updateSec, rank, row, source });
      entries.sort(order);
      list = { entries, seq, size: source.table.size, stale: 0, version: 0 };
      this.lists[rank] = list;
      this.builds += 1;
    }
  }

  /** One journal event: an add grows the expected size; the row gets an entry at its update time. */
  private fold(list: TypeList, rank: number, e: ChangeEvent): void {
    if (e.action === 'add') list.size += 1;
    const source = this.sources[rank]!;
    const row = source.table.get(e.id as number);
    if (!row || row.updateSec < this.fromSec) return;
    const pos = position(list.entries, row.updateSec, row.id);
    const at = list.entries[pos];
    if (at && at.row === row && at.sec === row.updateSec) return;
    const entry: RecentsEntry = { sec: row.updateSec, rank, row, source };
    if (pos === list.entries.length) list.entries.push(entry);
    else list.entries.splice(pos, 0, entry);
    list.stale += 1;
    list.version += 1;
  }
}

/** First index whose (sec, id) >= (sec, id). */
function position(entries: readonly RecentsEntry[], sec: number, id: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid]!;
    if (e.sec < sec || (e.sec === sec && e.row.id < id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function merge(a: RecentsEntry[], b: RecentsEntry[]): RecentsEntry[] {
  if (b.length === 0) return a;
  if (a.length === 0 || order(a[a.length - 1]!, b[0]!) <= 0) return a.concat(b);
  const out: RecentsEntry[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = order(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** Pairwise merge of sorted lists (O(n log k)). */
function mergeAll(lists: RecentsEntry[][]): RecentsEntry[] {
  let level = lists.filter((l) => l.length > 0);
  if (level.length === 0) return [];
  while (level.length > 1) {
    const next: RecentsEntry[][] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? merge(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}
