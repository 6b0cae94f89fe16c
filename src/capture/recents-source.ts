import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { listAll } from '../pipedrive/lists.ts';
import { RECENTS_WINDOW_MS, fetchRecentsPage } from '../pipedrive/recents.ts';
import { parseRow } from '../pipedrive/row.ts';
import { Op, type ChangeBatch, type ChangeEvent } from './change.ts';
import { eventsFor, isDeletedRow, vanishedEvents, type EmitContext } from './emit.ts';
import { keyString } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';
import { advance } from './updated-since-source.ts';

/** Start a full import when the checkpoint is this close to falling out of Recents' window. */
const WINDOW_MARGIN_MS = 3600 * 1000;

/**
 * v1 Recents for one item type. A pass reads every page since the cursor, sorts by update time and emits
 * it as one batch (same-second dedupe as the v2 lists). A checkpoint that Recents can no longer serve
 * (none yet, or older than its 30-day window) first triggers a full import from the table's list
 * endpoint, with deletes found by absence through the table's key index.
 */
export class RecentsSource implements TableSource {
  readonly table: string;
  /** Read through the context: the engine widens it when custom fields appear. */
  private get spec(): TableSpec {
    return this.ctx.spec;
  }
  private offset: TableOffset;

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
    const sync = this.spec.sync as Extract<TableSpec['sync'], { kind: 'recents' }>;
    if (this.startsBackfill(this.client.serverNowMs())) return this.fullImport(sync.fullList, signal);
    const cursorMs = this.offset.cursorMs!;
    const items: unknown[] = [];
    for (let start: number | null = 0; start !== null; ) {
      // One second of overlap: whether since_timestamp is inclusive is not documented; advance() skips repeats.
      const page = await fetchRecentsPage(this.client, sync.item, cursorMs - 1000, start, signal);
      for (const e of page.entries) {
        if (e.item !== sync.item) continue;
        // Users come as an array of one; `data: null` entries (inaccessible items) carry nothing to publish.
        const data = Array.isArray(e.data) ? e.data[0] : e.data;
        if (data !== null && data !== undefined) items.push(data);
      }
      start = page.nextStart;
    }
    const cursorField = sync.cursorField;
    const ts = (raw: unknown) => Number(parseRow(this.spec, raw)[cursorField] ?? 0);
    items.sort((a, b) => ts(a) - ts(b));
    const { events, offset } = advance(this.ctx, this.offset, items, true, cursorField);
    return events.length > 0 ? { table: this.table, events, offset } : null;
  }

  /** Reads the whole list; known keys it no longer holds are deletes. The cursor restarts at the import's start. */
  private async fullImport(list: Extract<TableSpec['sync'], { kind: 'recents' }>['fullList'], signal?: AbortSignal): Promise<ChangeBatch> {
    const startedMs = Math.floor(this.client.serverNowMs() / 1000) * 1000;
    const events: ChangeEvent[] = [];
    const seen = new Set<string>();
    for await (const page of listAll(this.client, list, {}, signal)) {
      for (const { item } of page) {
        const row = parseRow(this.spec, item);
        const key = keyString(this.spec, row);
        seen.add(key);
        const deleted = isDeletedRow(this.spec, row);
        const index = this.ctx.indexes.get(this.spec.name);
        if (deleted && !index?.has(key)) continue; // deleted before we ever published it
        const op = deleted ? Op.delete : this.offset.snapshotDone ? Op.update : Op.read;
        const ts = Number(row[(this.spec.sync as { cursorField: string }).cursorField] ?? startedMs);
        events.push(...eventsFor(this.ctx, item, row, op, ts));
      }
    }
    for (const [key, keyRow] of this.ctx.indexes.get(this.spec.name)?.keys() ?? []) {
      if (!seen.has(key)) events.push(...vanishedEvents(this.ctx, keyRow, startedMs));
    }
    // Versions at or after the import's start second may be published once more by Recents: never fewer.
    const offset: TableOffset = { ...this.offset, cursorMs: startedMs, emittedAtCursor: {}, snapshotDone: true, lastImportMs: startedMs };
    return { table: this.table, events, offset };
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
  }

  /** A full import is due when Recents cannot serve the checkpoint: none yet, or about to leave its window. */
  startsBackfill(nowMs: number): boolean {
    return this.offset.cursorMs === null || nowMs - this.offset.cursorMs > RECENTS_WINDOW_MS - WINDOW_MARGIN_MS;
  }
}
