import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { RECENTS_WINDOW_MS, fetchRecentsPage } from '../pipedrive/recents.ts';
import { parseRow } from '../pipedrive/row.ts';
import type { ChangeBatch } from './change.ts';
import type { EmitContext } from './emit.ts';
import { FullImport } from './full-import.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';
import { advance } from './updated-since-source.ts';

/** Start a full import when the checkpoint is this close to falling out of Recents' window. */
const WINDOW_MARGIN_MS = 3600 * 1000;

type Sync = Extract<TableSpec['sync'], { kind: 'recents' }>;

/**
 * v1 Recents for one item type, oldest change first. Each page is one batch (same-second dedupe as the v2
 * lists), and the next page is asked for from the new cursor rather than by offset: an item changed while
 * the pass pages moves to the end of the list, which would shift an offset past an unread item. Only when a
 * page holds nothing past the cursor second (more changes in one second than a page) is that second paged
 * through by offset. A checkpoint that Recents can no longer serve (none yet, or older than its
 * 30-day window) first triggers a full import from the table's list endpoint (see FullImport), with
 * deletes found by absence through the table's key index.
 */
export class RecentsSource implements TableSource {
  readonly table: string;
  /** Read through the context: the engine widens it when custom fields appear. */
  private get spec(): TableSpec {
    return this.ctx.spec;
  }
  private offset: TableOffset;
  private current: FullImport | undefined;
  /** Entries at the cursor second already paged past (more than a page of changes in one second). */
  private skipInSecond = 0;
  /** The last batch came from Recents' last page: the next poll ends the pass instead of asking again. */
  private passEnded = false;

  constructor(
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    start: TableOffset,
  ) {
    if (this.spec.sync.kind !== 'recents') throw new Error(`${this.spec.name}: not a recents table`);
    this.table = this.spec.name;
    this.offset = start;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const sync = this.spec.sync as Sync;
    if (this.current || this.startsBackfill(this.client.serverNowMs())) return this.importStep(sync, signal);
    if (this.passEnded) {
      this.passEnded = false;
      return null;
    }
    for (;;) {
      const cursorMs = this.offset.cursorMs!;
      // One second of overlap (whether since_timestamp is inclusive is not documented) and the lateness
      // window; advance() skips what was published.
      const page = await fetchRecentsPage(this.client, sync.item, cursorMs - 1000 - (this.ctx.latenessMs ?? 0), this.skipInSecond, signal);
      const items: unknown[] = [];
      for (const e of page.entries) {
        if (e.item !== sync.item) continue;
        // Users come as an array of one; `data: null` entries (inaccessible items) carry nothing to publish.
        const data = Array.isArray(e.data) ? e.data[0] : e.data;
        if (data !== null && data !== undefined) items.push(data);
      }
      const ts = (raw: unknown) => Number(parseRow(this.spec, raw)[sync.cursorField] ?? 0);
      items.sort((a, b) => ts(a) - ts(b));
      const { events, offset } = advance(this.ctx, this.offset, items, true, sync.cursorField);
      // Moved on: the next page starts at the new cursor second (its entries seen so far are skipped by the
      // dedupe). Stuck in one second: page through it by offset; what changes meanwhile, the next pass reads.
      const movedOn = offset.cursorMs !== cursorMs;
      this.skipInSecond = page.nextStart === null || movedOn ? 0 : this.skipInSecond + page.entries.length;
      if (events.length > 0) {
        this.passEnded = page.nextStart === null;
        return { table: this.table, events, offset };
      }
      if (page.nextStart === null) return null;
      // A page of repeats only (the overlap second): the next one, from the same cursor.
      this.offset = offset;
    }
  }

  /** One batch of a full import (started now, or resumed from the committed offset's progress). */
  private async importStep(sync: Sync, signal?: AbortSignal): Promise<ChangeBatch> {
    const progress = this.offset.import;
    this.current ??= new FullImport(
      this.ctx,
      this.client,
      {
        list: sync.fullList,
        versionTime: (row, startedMs) => Number(row[sync.cursorField] ?? startedMs),
        // Versions at or after the import's start second may be published once more by Recents: never fewer.
        complete: (offset, startedMs) => ({ ...offset, cursorMs: startedMs, emittedAtCursor: {}, snapshotDone: true, lastImportMs: startedMs }),
      },
      progress?.startedMs ?? Math.floor(this.client.serverNowMs() / 1000) * 1000,
      progress !== undefined,
    );
    const { batch, done } = await this.current.next(this.offset, signal);
    if (done) this.current = undefined;
    return batch;
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
  }

  /** A full import is due when Recents cannot serve the checkpoint (none yet, or about to leave its window), or one is under way. */
  startsBackfill(nowMs: number): boolean {
    return this.offset.import !== undefined || this.offset.cursorMs === null || nowMs - this.offset.cursorMs > RECENTS_WINDOW_MS - WINDOW_MARGIN_MS;
  }
}

