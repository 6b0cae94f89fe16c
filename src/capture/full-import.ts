import type { ListSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { at, listUnits, type ListUnit } from '../pipedrive/lists.ts';
import { parseRow, type Row } from '../pipedrive/row.ts';
import { Op, type ChangeBatch, type ChangeEvent } from './change.ts';
import { contentHash, eventsFor, isDeletedRow, vanishedEvents, type EmitContext } from './emit.ts';
import { keyString, type KeyIndex, type KeySweep } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { MemoUpdate, ParentMemo } from './parent-memo.ts';

/**
 * How much one batch — one Kafka transaction — may hold: records, and bytes as their rows' JSON. Far below
 * Kafka's limits (the publisher also splits a transaction's sends to stay under max.message.bytes), and
 * what the producer holds in memory at a time, whatever the size of the table.
 */
export const BATCH_LIMITS = { events: 2_000, bytes: 4 * 1024 * 1024 } as const;

export interface FullImportOptions {
  readonly list: ListSpec;
  /** The version time of a row (re-imports: the import's start second; Recents: the row's update time). */
  readonly versionTime: (row: Row, startedMs: number) => number;
  /** The table's offset once the import is complete. */
  readonly complete: (offset: TableOffset, startedMs: number) => TableOffset;
  /** Per-parent lists with counters: the parents walked before, skipped while unchanged (parent-memo.ts). */
  readonly memo?: ParentMemo;
}

/** One step of an import: a batch to publish, and whether it completes the import. */
export interface ImportStep {
  readonly batch: ChangeBatch;
  readonly done: boolean;
}

/**
 * Reads a whole table — a re-import, or Recents' full import — and turns it into bounded batches. Rows whose
 * content hash equals the one last published (the key index) are unchanged and skipped; the others are
 * creates, updates, or reads during a first sync. Each batch carries the import's progress in the offset
 * (where the next unit starts), so a crash mid-import resumes there. Once every unit is read, the keys the
 * index holds that the import never saw are deletes — unless the import was resumed after a restart (the
 * keys seen before it are not known: its deletes are left to the next import) or the delete guard refuses
 * them.
 */
export class FullImport {
  /** The keys this import saw, a bit a slot of the table's index (no set of every key of the table). */
  private sweep: KeySweep | undefined;
  private deletesKnown: boolean;
  private units: AsyncGenerator<ListUnit> | undefined;
  private vanished: Row[] | undefined;
  /** Position of an item in the whole list, for `$index` columns (only single-page lists use them). */
  private position = 0;
  /** Memo changes since the last batch, and every parent this import visited (walked or unchanged). */
  private memoWalked = new Map<string, { signature: string; keys: readonly string[] }>();
  private memoDropped: string[] = [];
  private readonly visited = new Set<string>();
  private readonly fullWalk: boolean;

  constructor(
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    private readonly opts: FullImportOptions,
    /** The import's start (new imports), or the committed offset's progress (a resumed one). */
    private readonly startedMs: number,
    resumed: boolean,
  ) {
    this.deletesKnown = !resumed;
    this.fullWalk = opts.memo?.begin(startedMs) ?? false;
  }

  async next(offset: TableOffset, signal?: AbortSignal): Promise<ImportStep> {
    const spec = this.ctx.spec;
    const index = this.ctx.indexes.get(spec.name);
    const seen = this.seenIn(index);
    const events: ChangeEvent[] = [];
    let bytes = 0;
    const full = () => events.length >= BATCH_LIMITS.events || bytes >= BATCH_LIMITS.bytes;
    const resumeAt = offset.import?.resumeAt;
    if (this.vanished === undefined && resumeAt !== 'end') {
      this.units ??= listUnits(this.client, this.opts.list, resumeAt ?? null, {}, signal, { ...(this.opts.memo ? { walk: this.opts.memo } : {}), table: spec.name });
      for (;;) {
        const { value: unit, done } = await this.units.next();
        if (done) break;
        const keysOf = this.opts.memo ? new Map<string, string[]>() : undefined;
        const idField = this.opts.list.forEachParent?.idField ?? 'id';
        for (const { item, parent, wrapper } of unit.items) {
          const row = parseRow(spec, item, { parent, item: wrapper, index: this.position++ });
          const key = keyString(spec, row);
          seen(key);
          if (keysOf) {
            const pid = String(at(parent, idField));
            (keysOf.get(pid) ?? keysOf.set(pid, []).get(pid)!).push(key);
          }
          const known = index?.has(key) ?? false;
          if (isDeletedRow(spec, row)) {
            if (known) events.push(...eventsFor(this.ctx, item, row, Op.delete, this.opts.versionTime(row, this.startedMs)));
            continue;
          }
          const hash = contentHash(row);
          if (index?.hashOf(key) === hash) continue; // unchanged since it was published
          const op = !offset.snapshotDone ? Op.read : known ? Op.update : Op.create;
          const made = eventsFor(this.ctx, item, row, op, this.opts.versionTime(row, this.startedMs), hash);
          events.push(...made);
          for (const ev of made) bytes += JSON.stringify(ev.row).length;
        }
        if (keysOf) this.remember(unit, keysOf, seen);
        if (unit.next === null) break;
        if (full()) return { batch: this.batch(events, { ...offset, import: { startedMs: this.startedMs, resumeAt: unit.next } }), done: false };
      }
      this.vanished = this.deletesKnown && this.sweep ? this.guarded(this.sweep.unseen('now'), index?.size ?? 0) : [];
    }
    const vanished = this.vanished ?? [];
    while (vanished.length > 0 && !full()) events.push(...vanishedEvents(this.ctx, vanished.pop()!, this.startedMs));
    if (vanished.length > 0) return { batch: this.batch(events, { ...offset, import: { startedMs: this.startedMs, resumeAt: 'end' } }), done: false };
    const { import: _progress, imported: _legacy, ...rest } = offset;
    const complete = this.deletesKnown ? { visited: this.visited, full: this.fullWalk, startedMs: this.startedMs } : undefined;
    return { batch: this.batch(events, this.opts.complete(rest, this.startedMs), complete), done: true };
  }

  /** A unit's parents in the memo: the walked ones with the keys they listed; unchanged ones' keys are seen. */
  private remember(unit: ListUnit, keysOf: ReadonlyMap<string, readonly string[]>, seen: (key: string) => void): void {
    const memo = this.opts.memo!;
    for (const id of unit.same ?? []) {
      for (const k of memo.keysOf(id)) seen(k);
      this.visited.add(id);
    }
    for (const { id, signature } of unit.walked ?? []) {
      this.memoWalked.set(id, { signature, keys: keysOf.get(id) ?? [] });
      this.visited.add(id);
    }
    this.memoDropped.push(...(unit.none ?? []));
  }

  /**
   * Where this call's seen keys go. The sweep starts with the import, over the index as it is then; should the
   * index be replaced meanwhile (a re-sync empties it) the keys seen so far are lost, and so this import's
   * deletes are left to the next one, as after a restart.
   */
  private seenIn(index: KeyIndex | undefined): (key: string) => void {
    if (!this.deletesKnown || !index) return () => {};
    if (!this.sweep) {
      if (this.units) this.deletesKnown = false; // the index appeared after the import began
      else this.sweep = index.sweep();
    } else if (this.sweep.index !== index) {
      this.deletesKnown = false;
      this.sweep = undefined;
    }
    const sweep = this.sweep;
    return sweep ? (key) => sweep.see(key) : () => {};
  }

  /** The deletes, unless the delete guard refuses that many at once (then none, until confirmed). */
  private guarded(keys: Row[], of: number): Row[] {
    const guard = this.ctx.deleteGuard;
    return keys.length === 0 || !guard || guard.allows(this.ctx.spec.name, keys.length, of) ? keys : [];
  }

  private batch(events: ChangeEvent[], offset: TableOffset, complete?: MemoUpdate['complete']): ChangeBatch {
    const batch: ChangeBatch = { table: this.ctx.spec.name, events, offset };
    if (this.opts.memo) {
      this.opts.memo.pend(batch, { walked: this.memoWalked, dropped: this.memoDropped, ...(complete ? { complete } : {}) });
      this.memoWalked = new Map();
      this.memoDropped = [];
    }
    return batch;
  }
}
