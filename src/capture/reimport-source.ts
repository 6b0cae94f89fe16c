import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import type { Row } from '../pipedrive/row.ts';
import { sharedWalkOf } from '../pipedrive/shared-walk.ts';
import type { ChangeBatch } from './change.ts';
import type { EmitContext } from './emit.ts';
import { FullImport } from './full-import.ts';
import type { TableOffset } from './offset.ts';
import { ParentMemo } from './parent-memo.ts';
import type { TableSource } from './table-source.ts';

export const DAY_MS = 24 * 3600 * 1000;

type Sync = Extract<TableSpec['sync'], { kind: 'reimport' }>;

/**
 * Tables without any change feed: read everything and diff with what was published (the key index holds
 * each key's content hash). New keys are creates, changed ones updates, missing ones deletes. An import
 * is published in bounded batches with its progress in the offset (see FullImport); it runs on every pass
 * (`every: 'sync'`) or once a day by the API's clock. Versions found by an import are stamped with its
 * start second (Pipedrive's clock has whole seconds).
 */
export class ReimportSource implements TableSource {
  readonly table: string;
  /** Read through the context: the engine widens it when custom fields appear. */
  private get spec(): TableSpec {
    return this.ctx.spec;
  }
  private offset: TableOffset;
  private current: FullImport | undefined;
  /** The pass's import finished: the next poll ends the pass (an every-sync import is always due). */
  private importedThisPass = false;
  /** Per-deal lists with counters: which deals were walked at which signature (parent-memo.ts). */
  private readonly memo: ParentMemo | undefined;

  constructor(
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    start: TableOffset,
  ) {
    if (this.spec.sync.kind !== 'reimport') throw new Error(`${this.spec.name}: not a re-imported table`);
    this.table = this.spec.name;
    this.offset = start;
    const list = (this.spec.sync as Sync).list;
    if (ParentMemo.appliesTo(list)) this.memo = new ParentMemo(list);
    // Tables walking the same parents (or the same per-parent endpoint) share the walk.
    const parentPaths = this.spec.columns.map((c) => c.path ?? '').filter((p) => p.startsWith('$parent.'));
    if (list.forEachParent) sharedWalkOf(client).register(list, this.table, parentPaths);
    // Offsets of versions before 0.2 carried the last import's hashes: they are the base of the next diff.
    const index = ctx.indexes.get(this.table);
    for (const [key, hash] of Object.entries(start.imported ?? {})) index?.rememberHash(key, hash);
  }

  /** True when an import is due or under way. */
  due(nowMs: number): boolean {
    const sync = this.spec.sync as Sync;
    if (this.offset.import || this.offset.lastImportMs === undefined || sync.every === 'sync') return true;
    return nowMs - this.offset.lastImportMs >= DAY_MS;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    if (this.importedThisPass) {
      this.importedThisPass = false;
      return null;
    }
    if (!this.current && !this.due(this.client.serverNowMs())) return null;
    const progress = this.offset.import;
    this.current ??= new FullImport(
      this.ctx,
      this.client,
      {
        list: (this.spec.sync as Sync).list,
        versionTime: (_row: Row, startedMs: number) => startedMs,
        complete: (offset, startedMs) => ({ ...offset, lastImportMs: startedMs, snapshotDone: true }),
        ...(this.memo ? { memo: this.memo } : {}),
      },
      progress?.startedMs ?? Math.floor(this.client.serverNowMs() / 1000) * 1000,
      progress !== undefined,
    );
    const { batch, done } = await this.current.next(this.offset, signal);
    if (!done) return batch;
    this.current = undefined;
    // Nothing changed in an every-sync import that never committed progress: no schedule to record, no
    // transaction; the pass ends here.
    if (batch.events.length === 0 && this.offset.snapshotDone && this.offset.import === undefined && (this.spec.sync as Sync).every === 'sync') {
      this.offset = batch.offset;
      this.memo?.committed(batch); // nothing to publish: the walk's memo holds as it is
      return null;
    }
    this.importedThisPass = true;
    return batch;
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
    this.memo?.committed(batch);
  }

  startsBackfill(nowMs: number): boolean {
    return this.due(nowMs);
  }
}

