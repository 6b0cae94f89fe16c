import type { DeleteDetection, ListSpec, TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { listAll } from '../pipedrive/lists.ts';
import { parseRow, type Row } from '../pipedrive/row.ts';
import type { ChangeBatch, ChangeEvent } from './change.ts';
import { vanishedEvents, type EmitContext } from './emit.ts';
import { BATCH_LIMITS } from './full-import.ts';
import { keyString } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

/**
 * Periodic delete detection for lists that hide deleted rows (v2 persons, organizations, activities,
 * products): when the inner source has nothing new and a scan is due, list every id; the table's live
 * keys that are no longer listed are deletes. Keys known when the scan starts are the base, so rows
 * created during the scan are never mistaken for deletes.
 */
export class IdScanSource implements TableSource {
  readonly table: string;
  private offset: TableOffset | undefined;
  /** A scan's deletes not yet returned (they go out in bounded batches). */
  private pending: { readonly scannedMs: number; readonly keys: Row[] } | undefined;

  constructor(
    private readonly inner: TableSource,
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    private readonly scan: Extract<DeleteDetection, { kind: 'id-scan' }>,
    start: TableOffset,
  ) {
    this.table = inner.table;
    this.offset = start;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const batch = await this.inner.poll(signal);
    // A first full pass read every live row: it counts as a scan, so the first real scan comes a period later.
    if (batch && batch.offset.snapshotDone && batch.offset.lastIdScanMs === undefined) {
      return { ...batch, offset: { ...batch.offset, lastIdScanMs: this.client.serverNowMs() } };
    }
    if (batch) return batch;
    const offset = this.offset!;
    if (this.pending) return this.deletes(offset);
    const now = Math.floor(this.client.serverNowMs() / 1000) * 1000;
    if (!this.scanDue(now)) return null;
    const index = this.ctx.indexes.get(this.table);
    if (!index) throw new Error(`${this.table}: id-scan deletes need the table's key index`);
    // The keys live when the scan starts are the base; what it lists is marked (a bit a key, not a set of strings).
    const sweep = index.sweep();
    for (const list of this.scanLists(this.ctx.spec)) {
      for await (const page of listAll(this.client, list, {}, signal)) {
        for (const { item } of page) sweep.see(keyString(this.ctx.spec, parseRow(this.ctx.spec, item)));
      }
    }
    const gone = sweep.unseen('start');
    const guard = this.ctx.deleteGuard;
    const allowed = gone.length === 0 || !guard || guard.allows(this.table, gone.length, sweep.liveAtStart);
    this.pending = { scannedMs: now, keys: allowed ? gone : [] };
    return this.deletes(offset);
  }

  /**
   * The scan's deletes in bounded batches; the last one records the scan. A crash in between scans again:
   * deletes already committed are no longer in the index, the others are found again.
   */
  private deletes(offset: TableOffset): ChangeBatch {
    const { scannedMs, keys } = this.pending!;
    const events: ChangeEvent[] = [];
    while (keys.length > 0 && events.length < BATCH_LIMITS.events) events.push(...vanishedEvents(this.ctx, keys.pop()!, scannedMs));
    if (keys.length > 0) return { table: this.table, events, offset };
    this.pending = undefined;
    return { table: this.table, events, offset: { ...offset, lastIdScanMs: scannedMs } };
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
    this.inner.committed(batch);
  }

  startsBackfill(nowMs: number): boolean {
    return (this.inner.startsBackfill?.(nowMs) ?? false) || this.scanDue(nowMs);
  }

  private scanDue(nowMs: number): boolean {
    const last = this.offset?.lastIdScanMs;
    return last === undefined || nowMs - last >= this.scan.everyMs;
  }

  /** The scan's lists: the declared one, or the sync list (and the archived list: archived rows are not deleted). */
  private scanLists(spec: TableSpec): ListSpec[] {
    if (this.scan.list) return [this.scan.list];
    if (spec.sync.kind === 'updated-since' && spec.sync.archived) return [spec.sync.list, spec.sync.archived.list];
    if ('list' in spec.sync) return [spec.sync.list];
    throw new Error(`${spec.name}: id-scan needs a list`);
  }
}
