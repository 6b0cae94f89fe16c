import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { fetchListPage, type ListPage, type PagePosition } from '../pipedrive/lists.ts';
import { formatRfc3339, parseRow, type Row } from '../pipedrive/row.ts';
import type { ChangeBatch, ChangeEvent } from './change.ts';
import { contentHash, eventsFor, opOf, type EmitContext } from './emit.ts';
import { keyString } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

/** The window a first sync reads before anything older (priority-first). */
export const PRIORITY_WINDOW_MS = 30 * 24 * 3600 * 1000;
/** Backfill pages per round before the engine turns to other tables (and this table's new changes). */
const BACKFILL_PAGES_PER_ROUND = 20;
/** During a backfill, how often the recent changes are read between backfill pages. */
const INCREMENTAL_EVERY_MS = 30_000;

type Sync = Extract<TableSpec['sync'], { kind: 'updated-since' }>;

/**
 * Incremental sync through a v2 list sorted by update time ascending with an inclusive `updated_since`.
 * A pass walks the cursor pages; each page is one batch. Between passes the table rests at its offset.
 *
 * First sync, where the list takes `updated_until`: priority-first. The offset starts at now − 30 days,
 * so the first pass brings the recent rows (the table is live after it); older rows are then backfilled
 * below that split with a cursor of their own, a few pages per round, with the recent changes read in
 * between. A row updated during the backfill moves above the split and is read by the incremental side:
 * no row falls between the two halves, and a restart resumes both from the offset.
 */
export class UpdatedSinceSource implements TableSource {
  readonly table: string;
  /** Read through the context: the engine widens it when custom fields appear. */
  private get spec(): TableSpec {
    return this.ctx.spec;
  }
  private offset: TableOffset;
  /** The pass in progress: which half, its query and page position. */
  private pass: { mode: 'incremental' | 'backfill'; query: Record<string, string>; position: PagePosition | null } | undefined;
  private lastIncrementalEnd = 0;
  /** The next page of the pass, requested while the current batch is being published. */
  private prefetched: { readonly query: Record<string, string>; readonly position: PagePosition; readonly page: Promise<ListPage> } | undefined;
  private backfillPagesThisRound = 0;
  /**
   * The last batch came from the last page of an incremental pass: the pass is over, so the next poll
   * answers null at once. Reading again would only find the rows just published (the list is inclusive)
   * at the price of a call per pass; what changed since, the next pass reads.
   */
  private passEnded = false;

  constructor(
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    start: TableOffset,
    private readonly priorityWindowMs = PRIORITY_WINDOW_MS,
  ) {
    if (this.spec.sync.kind !== 'updated-since') throw new Error(`${this.spec.name}: not an updated-since table`);
    this.table = this.spec.name;
    this.offset = start;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const sync = this.spec.sync as Sync;
    this.startPriorityFirst(sync);
    if (this.passEnded) {
      this.passEnded = false;
      return null;
    }
    for (;;) {
      if (!this.pass) {
        const bf = this.offset.backfill;
        const backfillTurn = bf !== undefined && bf.recentDone && !this.ctx.budgetLow?.() && Date.now() - this.lastIncrementalEnd < INCREMENTAL_EVERY_MS;
        if (backfillTurn && this.backfillPagesThisRound >= BACKFILL_PAGES_PER_ROUND) {
          this.backfillPagesThisRound = 0;
          return null; // let the other tables have their turn
        }
        this.pass = backfillTurn ? { mode: 'backfill', query: this.backfillQuery(sync), position: null } : { mode: 'incremental', query: this.incrementalQuery(sync), position: null };
      }
      const pass = this.pass;
      const guessedClock = !this.client.knowsServerTime;
      const page = await this.fetchPage(sync, pass.query, pass.position, signal);
      if (guessedClock && this.offset.backfill && !this.offset.backfill.recentDone && this.offset.backfill.cursorMs === null) {
        // The split was placed by our clock before the API told its own: place it again and restart the pass.
        const split = Math.floor((this.client.serverNowMs() - this.priorityWindowMs) / 1000) * 1000;
        if (Math.abs(split - this.offset.backfill.untilMs) > 60_000) {
          this.offset = { ...this.offset, cursorMs: split, backfill: { ...this.offset.backfill, untilMs: split } };
          this.pass = undefined;
          continue;
        }
      }
      const lastPage = page.next === null;
      const parsed = await parseAhead(this.spec, page.items);
      // Computed before the position moves: a page that throws (bad row, new custom field) is read again.
      const batch = pass.mode === 'backfill' ? this.backfillPage(page.items, lastPage, sync, parsed) : this.incrementalPage(page.items, lastPage, sync, parsed);
      if (!lastPage && pass.mode === 'incremental' && sync.list.pagination === 'v1-offset') {
        const next = reanchored(sync, this.spec, pass.query, pass.position, page.items);
        pass.query = next.query;
        pass.position = next.position;
      } else pass.position = page.next;
      if (lastPage) {
        this.pass = undefined;
        if (pass.mode === 'incremental') this.lastIncrementalEnd = Date.now();
      }
      if (pass.mode === 'backfill') this.backfillPagesThisRound++;
      // While this batch is published, the next page is already on its way (HTTP and JSON parsing overlap
      // with the Kafka transaction); a reset source simply never uses it.
      if (batch && !lastPage && pass.position) this.prefetch(sync, pass.query, pass.position, signal);
      const caughtUp = lastPage && pass.mode === 'incremental' && (!(batch?.offset ?? this.offset).backfill || this.ctx.budgetLow?.() === true);
      if (batch) {
        this.passEnded = caughtUp;
        return batch;
      }
      // Caught up on recent changes: done, unless a backfill may go on within this round.
      if (caughtUp) return null;
    }
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
  }

  private prefetch(sync: Sync, query: Record<string, string>, position: PagePosition, signal?: AbortSignal): void {
    const page = fetchListPage(this.client, sync.list, query, position, undefined, signal);
    page.catch(() => undefined); // a failure is reported when the page is used
    this.prefetched = { query, position, page };
  }

  /** The page at `position` of `query`: the prefetched one when it is that page, else a fresh request. */
  private fetchPage(sync: Sync, query: Record<string, string>, position: PagePosition | null, signal?: AbortSignal): Promise<ListPage> {
    const ahead = this.prefetched;
    this.prefetched = undefined;
    if (ahead && ahead.query === query && position !== null && samePosition(ahead.position, position)) return ahead.page;
    return fetchListPage(this.client, sync.list, query, position, undefined, signal);
  }

  /** Only a first sync starts a backfill; a running one pauses by itself while the budget is low. */
  startsBackfill(): boolean {
    return this.offset.cursorMs === null && this.pass === undefined;
  }

  /** On a first sync of a list with `updated_until`: split at now − window (kept in memory until the first batch commits). */
  private startPriorityFirst(sync: Sync): void {
    if (this.offset.cursorMs !== null || this.offset.snapshotDone || !sync.untilParam || this.priorityWindowMs <= 0) return;
    const split = Math.floor((this.client.serverNowMs() - this.priorityWindowMs) / 1000) * 1000;
    this.offset = { ...this.offset, cursorMs: split, emittedAtCursor: {}, backfill: { untilMs: split, recentDone: false, cursorMs: null, emittedAtCursor: {} } };
  }

  private incrementalQuery(sync: Sync): Record<string, string> {
    const q: Record<string, string> = { ...sortQuery(sync) };
    // Once live, read again from a window below the cursor: late rows (see advance) are found there.
    const lateness = this.offset.snapshotDone ? (this.ctx.latenessMs ?? 0) : 0;
    if (this.offset.cursorMs !== null) q[sync.sinceParam] = formatRfc3339(this.offset.cursorMs - lateness);
    return q;
  }

  private backfillQuery(sync: Sync): Record<string, string> {
    const bf = this.offset.backfill!;
    const q: Record<string, string> = { ...sortQuery(sync), [sync.untilParam!]: formatRfc3339(bf.untilMs) };
    if (bf.cursorMs !== null) q[sync.sinceParam] = formatRfc3339(bf.cursorMs);
    return q;
  }

  private incrementalPage(items: readonly unknown[], lastPage: boolean, sync: Sync, parsed: Parsed): ChangeBatch | null {
    const prev = this.offset;
    const { events, offset } = advance(this.ctx, prev, items, lastPage, sync.cursorField, parsed);
    // With a backfill running, the table is live (snapshotDone) once its recent window has been read.
    const next: TableOffset = prev.backfill
      ? { ...offset, snapshotDone: prev.snapshotDone || lastPage, backfill: { ...prev.backfill, recentDone: prev.backfill.recentDone || lastPage } }
      : offset;
    // A batch when there is something to publish, or when a first pass just ended (its state must commit).
    if (events.length === 0 && next.snapshotDone === prev.snapshotDone) return null;
    return { table: this.table, events, offset: next };
  }

  private backfillPage(items: readonly unknown[], lastPage: boolean, sync: Sync, parsed: Parsed): ChangeBatch | null {
    const prev = this.offset;
    const bf = prev.backfill!;
    // The backfill's own cursor, with snapshot semantics: its rows are reads (or deletes).
    const half: TableOffset = { version: 1, cursorMs: bf.cursorMs, emittedAtCursor: bf.emittedAtCursor, snapshotDone: false };
    const { events, offset } = advance({ ...this.ctx, latenessMs: 0 }, half, items, false, sync.cursorField, parsed);
    const next: TableOffset = lastPage
      ? (({ backfill: _done, ...rest }) => rest)(prev)
      : { ...prev, backfill: { ...bf, cursorMs: offset.cursorMs, emittedAtCursor: offset.emittedAtCursor } };
    if (events.length === 0 && !lastPage) return null;
    return { table: this.table, events, offset: next };
  }
}

/** Rows parsed and content-hashed ahead of `advance`, by position in the page (a row that did not parse holds its error). */
export type Parsed = ReadonlyArray<{ readonly row: Row; readonly hash: string } | { readonly error: unknown }>;

/** Rows parsed per slice before the event loop gets a turn (see parseAhead). */
const PARSE_SLICE = 100;

/**
 * Parses and hashes a page's rows, a slice at a time: most of a page's CPU time, and the transaction in
 * flight meanwhile needs the event loop for each of its round trips (add partitions, produce, end). Done
 * in one go, a page held each response back by several milliseconds, and a transaction took that much
 * longer. An error stays with its row: `advance` throws it when it gets there, as it would parse it.
 */
export async function parseAhead(spec: TableSpec, items: readonly unknown[]): Promise<Parsed> {
  const out: Array<Parsed[number]> = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % PARSE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    try {
      const row = parseRow(spec, items[i]);
      out[i] = { row, hash: contentHash(row) };
    } catch (error) {
      out[i] = { error };
    }
  }
  return out;
}

/**
 * The events of a page of rows in ascending update-time order, and the offset after them; pure. Versions
 * at the cursor second already published (same key, same content) are skipped. With a lateness window
 * (`ctx.latenessMs`, once the first sync is done), rows below the cursor but inside the window are
 * published unless that version (or a newer one of the key) already was: they arrived late.
 */
export function advance(ctx: EmitContext, prev: TableOffset, items: readonly unknown[], lastPage: boolean, cursorField: string, parsed?: Parsed): { events: ChangeEvent[]; offset: TableOffset } {
  const { spec } = ctx;
  // Late rows are looked for once the table is live; what is published before counts as seen already.
  const window = ctx.latenessMs ?? 0;
  const lateness = prev.snapshotDone ? window : 0;
  let cursorMs = prev.cursorMs;
  let emitted: Record<string, string> = { ...prev.emittedAtCursor };
  const within: Record<string, string> = { ...prev.withinWindow };
  const index = ctx.indexes.get(spec.name);
  const events: ChangeEvent[] = [];
  for (let i = 0; i < items.length; i++) {
    const raw = items[i];
    const ahead = parsed?.[i];
    if (ahead && 'error' in ahead) throw ahead.error;
    const row = ahead ? ahead.row : parseRow(spec, raw);
    // A row without an update time (users' `modified` may be null) is ordered by its creation, else at the cursor.
    const stamp = row[cursorField] ?? (spec.createdField ? row[spec.createdField] : null) ?? cursorMs ?? 0;
    const ts = typeof stamp === 'number' ? stamp : 0;
    const id = keyString(spec, row);
    const hash = ahead ? ahead.hash : contentHash(row);
    // The key's last published version, read again (overlaps, a full import's rows, the lateness window).
    if (index?.hashOf(id) === hash) continue;
    if (cursorMs !== null && ts < cursorMs) {
      if (ts < cursorMs - lateness) continue; // older than the window: already published, or too late to tell
      const [seenTs, seenHash] = splitWindowed(within[id]);
      if (seenTs > ts || (seenTs === ts && seenHash === hash)) continue; // this version or a newer one was published
      events.push(...eventsFor(ctx, raw, row, opOf(spec, row, ts, true, seenTs === ts), ts, hash));
      within[id] = `${ts}:${hash}`;
      continue;
    }
    if (ts === cursorMs && emitted[id] === hash) continue; // this exact version was published
    const earlierVersionThisSecond = ts === cursorMs && emitted[id] !== undefined;
    events.push(...eventsFor(ctx, raw, row, opOf(spec, row, ts, prev.snapshotDone, earlierVersionThisSecond), ts, hash));
    if (cursorMs === null || ts > cursorMs) {
      cursorMs = ts;
      emitted = {};
    }
    emitted[id] = hash;
    if (window > 0) within[id] = `${ts}:${hash}`;
  }
  const snapshotDone = prev.snapshotDone || lastPage;
  const offset: TableOffset = { ...prev, cursorMs, emittedAtCursor: emitted, snapshotDone };
  if (window === 0 || cursorMs === null) return { events, offset };
  // Only versions still inside the window below the (new) cursor are worth remembering.
  const kept = Object.fromEntries(Object.entries(within).filter(([, v]) => splitWindowed(v)[0] >= cursorMs! - window));
  return { events, offset: { ...offset, withinWindow: kept } };
}

/** The parameters sorting the list by the cursor ascending (v2's unless the table declares its own). */
function sortQuery(sync: Sync): Readonly<Record<string, string>> {
  return sync.sortQuery ?? { sort_by: sync.cursorField, sort_direction: 'asc' };
}

/**
 * The next page of an offset-paged pass, anchored at the last row's time: `since` that second, from the
 * start (the rows of that second already published are skipped by `advance`). Offsets would skip rows: a row
 * of an earlier page updated meanwhile moves to the end and every unread row one place up. Only a page
 * entirely within the anchor's second (more rows in one second than a page) goes on by offset.
 */
export function reanchored(sync: Sync, spec: TableSpec, query: Record<string, string>, position: PagePosition | null, items: readonly unknown[]): { query: Record<string, string>; position: PagePosition } {
  const last = items.length > 0 ? parseRow(spec, items[items.length - 1])[sync.cursorField] : undefined;
  const since = typeof last === 'number' ? formatRfc3339(last) : query[sync.sinceParam];
  const start = position && 'start' in position ? position.start : 0;
  if (since === undefined || since === query[sync.sinceParam]) return { query, position: { start: start + items.length } };
  return { query: { ...query, [sync.sinceParam]: since }, position: { start: 0 } };
}

function splitWindowed(entry: string | undefined): [number, string] {
  if (entry === undefined) return [Number.NEGATIVE_INFINITY, ''];
  const at = entry.indexOf(':');
  return [Number(entry.slice(0, at)), entry.slice(at + 1)];
}

function samePosition(a: PagePosition, b: PagePosition): boolean {
  return 'cursor' in a ? 'cursor' in b && a.cursor === b.cursor : 'start' in b && a.start === b.start;
}
