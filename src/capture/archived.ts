import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import type { ChangeBatch, ChangeEvent } from './change.ts';
import type { EmitContext } from './emit.ts';
import { keyString } from './key-index.ts';
import { initialOffset, type TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';
import { UpdatedSinceSource } from './updated-since-source.ts';

type Sync = Extract<TableSpec['sync'], { kind: 'updated-since' }>;

/**
 * Rows that leave a table's list when archived and appear in a list of their own (deals, since Pipedrive's
 * 2025-07-15 change): the archived list is read like the main one, with a cursor of its own kept in the
 * offset (`archived`), every `everyMs`, so an archived deal is an `is_archived: true` version rather than
 * a row gone missing. The two lists interleave, so a key's versions can arrive out of order across them (a
 * deal archived, then unarchived before the archived list is read): a version older than the key's last
 * published one is stale and left out.
 */
export class ArchivedSource implements TableSource {
  readonly table: string;
  private archived: UpdatedSinceSource;
  private offset: TableOffset;
  private lastArchivedPass = Number.NEGATIVE_INFINITY;
  private phase: 'main' | 'archived' = 'main';

  constructor(
    private readonly main: TableSource,
    private readonly ctx: EmitContext,
    client: PipedriveClient,
    start: TableOffset,
  ) {
    this.table = main.table;
    this.offset = start;
    this.archived = new UpdatedSinceSource(archivedView(ctx), client, start.archived ?? initialOffset, 0);
  }

  /** A table pass reads the main list to its end, then — when due — the archived list to its end. */
  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    if (this.phase === 'main') {
      const fromMain = await this.main.poll(signal);
      if (fromMain) return { ...fromMain, events: this.fresh(fromMain.events), offset: { ...fromMain.offset, archived: this.offset.archived } };
      if (Date.now() - this.lastArchivedPass < (this.ctx.spec.sync as Sync).archived!.everyMs) return null;
      this.phase = 'archived';
    }
    const fromArchived = await this.archived.poll(signal);
    if (fromArchived) {
      const { archived: _nested, ...archivedOffset } = fromArchived.offset;
      return { table: this.table, events: this.fresh(fromArchived.events), offset: { ...this.offset, archived: archivedOffset } };
    }
    this.phase = 'main';
    this.lastArchivedPass = Date.now();
    return null;
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
    this.main.committed(batch);
    if (batch.offset.archived) this.archived.committed({ ...batch, offset: batch.offset.archived });
  }

  startsBackfill(nowMs: number): boolean {
    return this.main.startsBackfill?.(nowMs) ?? false;
  }

  /** Leaves out versions older than the key's last published one (and the child rows that came with them). */
  private fresh(events: readonly ChangeEvent[]): ChangeEvent[] {
    const spec = this.ctx.spec;
    const index = this.ctx.indexes.get(spec.name);
    if (!index) return [...events];
    const out: ChangeEvent[] = [];
    let dropping = false;
    for (const ev of events) {
      if (ev.table === spec.name) dropping = (index.publishedAt(keyString(spec, ev.key)) ?? Number.NEGATIVE_INFINITY) > ev.sourceTsMs;
      if (!dropping) out.push(ev);
    }
    return out;
  }
}

/** The table as its archived list reads it: that list, no priority-first split. Cached per spec. */
function archivedView(ctx: EmitContext): EmitContext {
  let base: TableSpec | undefined;
  let view: TableSpec | undefined;
  return Object.create(ctx, {
    spec: {
      get(): TableSpec {
        if (ctx.spec !== base) {
          base = ctx.spec;
          const sync = base.sync as Sync;
          const { untilParam: _split, archived, ...rest } = sync;
          view = { ...base, sync: { ...rest, list: archived!.list } };
        }
        return view!;
      },
    },
  }) as EmitContext;
}
