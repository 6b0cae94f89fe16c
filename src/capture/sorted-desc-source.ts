import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { fetchListPage, type PagePosition } from '../pipedrive/lists.ts';
import { parseRow } from '../pipedrive/row.ts';
import type { ChangeBatch } from './change.ts';
import type { EmitContext } from './emit.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';
import { advance } from './updated-since-source.ts';

/**
 * For v2 lists without an update filter (pipelines, stages): read newest first and stop at the cursor. The
 * pass is published as one batch, oldest first, so the offset only moves once every newer row is in it —
 * a crash mid-pass re-reads the pass. These tables are small (a page or two).
 */
export class SortedDescSource implements TableSource {
  readonly table: string;
  /** Read through the context: the engine widens it when custom fields appear. */
  private get spec(): TableSpec {
    return this.ctx.spec;
  }
  private offset: TableOffset;
  /** A pass was just published: the next poll ends the pass instead of reading the list again. */
  private passEnded = false;

  constructor(
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    start: TableOffset,
  ) {
    if (this.spec.sync.kind !== 'sorted-desc') throw new Error(`${this.spec.name}: not a sorted-desc table`);
    this.table = this.spec.name;
    this.offset = start;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const sync = this.spec.sync as Extract<TableSpec['sync'], { kind: 'sorted-desc' }>;
    if (this.passEnded) {
      this.passEnded = false;
      return null;
    }
    const collected: unknown[] = [];
    let position: PagePosition | null = null;
    do {
      const page = await fetchListPage(this.client, sync.list, { sort_by: sync.cursorField, sort_direction: 'desc' }, position, undefined, signal);
      let reachedCursor = false;
      for (const raw of page.items) {
        const ts = parseRow(this.spec, raw)[sync.cursorField];
        // Newest first down to the cursor (less the lateness window: late rows are found there).
        if (this.offset.cursorMs !== null && typeof ts === 'number' && ts < this.offset.cursorMs - (this.offset.snapshotDone ? (this.ctx.latenessMs ?? 0) : 0)) {
          reachedCursor = true;
          break;
        }
        collected.push(raw);
      }
      position = reachedCursor ? null : page.next;
    } while (position);
    const { events, offset } = advance(this.ctx, this.offset, collected.reverse(), true, sync.cursorField);
    if (events.length === 0 && offset.snapshotDone === this.offset.snapshotDone) return null;
    this.passEnded = true;
    return { table: this.table, events, offset };
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
  }

  startsBackfill(): boolean {
    return this.offset.cursorMs === null;
  }
}
