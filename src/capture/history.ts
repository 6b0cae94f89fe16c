import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import type { ChangeBatch, ChangeEvent } from './change.ts';
import { rebuildVersions } from './changelog-history.ts';
import type { EmitContext } from './emit.ts';
import { keyString } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

/**
 * Rebuilding versions from changelogs (one call per row): `all` (also for the rows of a first sync),
 * `changes` (only for rows changed after it), `off` (history holds the polled versions only).
 */
export type HistoryRebuild = 'all' | 'changes' | 'off';

/**
 * History mode as a decorator of a table's source (like Kafka Connect's transforms, but before publishing):
 * every version the inner source emits also goes to the table's history topic, and for tables with a
 * changelog the versions polling missed are rebuilt first — with the field changes (`deal_change`) — in the
 * same batch, so they commit in the same transaction as the version that revealed them.
 *
 * Exactly once: a key's versions up to the source time of its last published version are in the history
 * topic already (they were rebuilt or polled when that version was published), so the rebuild starts there.
 * That time comes from the table's key index (rebuilt from the compacted topic after a restart), so a row
 * read again — changed during a first sync, or after a crash — never has its past rebuilt twice.
 */
export class HistorySource implements TableSource {
  readonly table: string;
  /** Cursor of the last committed batch: the bound for keys whose publish time the index does not know. */
  private committedCursorMs: number | null;

  constructor(
    private readonly inner: TableSource,
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    private readonly rebuild: HistoryRebuild,
    start: TableOffset,
  ) {
    this.table = inner.table;
    this.committedCursorMs = start.cursorMs;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const batch = await this.inner.poll(signal);
    if (!batch) return null;
    return { ...batch, events: await this.withHistory(batch.events, signal) };
  }

  committed(batch: ChangeBatch): void {
    this.committedCursorMs = batch.offset.cursorMs;
    this.inner.committed(batch);
  }

  startsBackfill(nowMs: number): boolean {
    return this.inner.startsBackfill?.(nowMs) ?? false;
  }

  private async withHistory(events: readonly ChangeEvent[], signal?: AbortSignal): Promise<ChangeEvent[]> {
    const spec = this.ctx.spec;
    const historyTable = spec.history!;
    const index = this.ctx.indexes.get(spec.name);
    /** Keys published earlier in this batch → the source time of that version. */
    const inBatch = new Map<string, number>();
    const out: ChangeEvent[] = [];
    for (const ev of events) {
      out.push(ev);
      if (ev.table !== spec.name) continue; // child rows have no history
      const key = keyString(spec, ev.key);
      if (spec.changelog && this.rebuilds(spec, ev)) {
        const afterMs = inBatch.get(key) ?? index?.publishedAt(key) ?? (index?.has(key) ? this.committedCursorMs : null);
        const rebuilt = await rebuildVersions(
          {
            spec,
            changelog: spec.changelog,
            changeTable: this.ctx.tableOf(spec.changelog.table),
            client: this.client,
            customDefs: this.ctx.customDefs ?? [],
            raw: ev.raw,
            row: ev.row,
            afterMs,
            op: ev.op,
          },
          signal,
        );
        out.push(...rebuilt.versions.map((v) => ({ ...v, table: historyTable })), { ...ev, table: historyTable }, ...rebuilt.changes);
      } else {
        out.push({ ...ev, table: historyTable });
      }
      inBatch.set(key, ev.sourceTsMs);
    }
    return out;
  }

  /** Whether a version's past is read from the changelog (never for deletes, or rows unchanged since creation). */
  private rebuilds(spec: TableSpec, ev: ChangeEvent): boolean {
    const wanted = this.rebuild === 'all' || (this.rebuild === 'changes' && ev.op !== 'r');
    const created = spec.createdField ? ev.row[spec.createdField] : undefined;
    // A row never changed since its creation second has nothing in its changelog: skip the call.
    return wanted && ev.op !== 'd' && ev.raw !== undefined && created !== ev.sourceTsMs;
  }
}

