import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { fetchListPage, type PagePosition } from '../pipedrive/lists.ts';
import { formatRfc3339, parseRow } from '../pipedrive/row.ts';
import type { ChangeBatch, ChangeEvent } from './change.ts';
import { contentHash, eventsFor, opOf, type EmitContext } from './emit.ts';
import { keyString } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

/**
 * Incremental sync through a v2 list sorted by update time ascending with an inclusive `updated_since`.
 * A pass walks the cursor pages; each page is one batch. Between passes the table rests at its offset.
 */
export class UpdatedSinceSource implements TableSource {
  readonly table: string;
  /** Read through the context: the engine widens it when custom fields appear. */
  private get spec(): TableSpec {
    return this.ctx.spec;
  }
  private offset: TableOffset;
  /** The page position of the pass in progress; undefined when no pass is running. */
  private position: PagePosition | null = null;
  private passQuery: Record<string, string> | undefined;

  constructor(
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    start: TableOffset,
  ) {
    if (this.spec.sync.kind !== 'updated-since') throw new Error(`${this.spec.name}: not an updated-since table`);
    this.table = this.spec.name;
    this.offset = start;
  }

  get currentOffset(): TableOffset {
    return this.offset;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const sync = this.spec.sync as Extract<TableSpec['sync'], { kind: 'updated-since' }>;
    for (;;) {
      if (!this.passQuery) {
        this.passQuery = { sort_by: sync.cursorField, sort_direction: 'asc' };
        if (this.offset.cursorMs !== null) this.passQuery[sync.sinceParam] = formatRfc3339(this.offset.cursorMs);
        this.position = null;
      }
      const page = await fetchListPage(this.client, sync.list, this.passQuery, this.position, undefined, signal);
      const lastPage = page.next === null;
      // Computed before the position moves: a page that throws (bad row, new custom field) is read again.
      const { events, offset } = advance(this.ctx, this.offset, page.items, lastPage, sync.cursorField);
      this.position = page.next;
      if (lastPage) this.passQuery = undefined;

      // A batch when there is something to publish, or when the first full pass just ended (snapshotDone).
      if (events.length > 0 || offset.snapshotDone !== this.offset.snapshotDone) {
        return { table: this.table, events, offset };
      }
      if (lastPage) return null;
    }
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
  }

  startsBackfill(): boolean {
    return this.offset.cursorMs === null && this.passQuery === undefined;
  }
}

/**
 * The events of a page of rows in ascending update-time order, and the offset after them; pure. Versions
 * at the cursor second already published (same key, same content) are skipped.
 */
export function advance(ctx: EmitContext, prev: TableOffset, items: readonly unknown[], lastPage: boolean, cursorField: string): { events: ChangeEvent[]; offset: TableOffset } {
  const { spec } = ctx;
  let cursorMs = prev.cursorMs;
  let emitted: Record<string, string> = { ...prev.emittedAtCursor };
  const events: ChangeEvent[] = [];
  for (const raw of items) {
    const row = parseRow(spec, raw);
    // A row without an update time (users' `modified` may be null) is ordered by its creation, else at the cursor.
    const stamp = row[cursorField] ?? (spec.createdField ? row[spec.createdField] : null) ?? cursorMs ?? 0;
    const ts = typeof stamp === 'number' ? stamp : 0;
    if (cursorMs !== null && ts < cursorMs) continue; // older than what was already published
    const id = keyString(spec, row);
    const hash = contentHash(row);
    if (ts === cursorMs && emitted[id] === hash) continue; // this exact version was published
    const earlierVersionThisSecond = ts === cursorMs && emitted[id] !== undefined;
    events.push(...eventsFor(ctx, raw, row, opOf(spec, row, ts, prev.snapshotDone, earlierVersionThisSecond), ts));
    if (cursorMs === null || ts > cursorMs) {
      cursorMs = ts;
      emitted = {};
    }
    emitted[id] = hash;
  }
  const snapshotDone = prev.snapshotDone || lastPage;
  return { events, offset: { ...prev, cursorMs, emittedAtCursor: emitted, snapshotDone } };
}
