import type { ListSpec } from '../catalog/types.ts';
import type { ParentWalk } from '../pipedrive/lists.ts';
import type { ChangeBatch } from './change.ts';

/**
 * A full walk of every parent that has something (ignoring the memo) this often: the safety net for a
 * change the counters do not show (a mail message edited in place keeps the deal's count and last times).
 */
export const PER_DEAL_FULL_WALK_MS = 7 * 24 * 3600 * 1000;

interface Walked {
  readonly signature: string;
  /** Row keys (key-index form) the parent's last walk listed. */
  readonly keys: readonly string[];
}

/** What one batch of an import changes in the memo, applied once the batch is committed. */
export interface MemoUpdate {
  readonly walked: ReadonlyMap<string, Walked>;
  /** Parents that have nothing there any more. */
  readonly dropped: readonly string[];
  /** Set on the import's last batch: every parent not visited by it is forgotten. */
  readonly complete?: { readonly visited: ReadonlySet<string>; readonly full: boolean; readonly startedMs: number };
}

/**
 * Per-parent walks of one table (mail, participants, followers of each deal): which parents were walked at
 * which counter signature, and the keys their walk found. A parent whose signature is unchanged is not
 * called; its keys count as seen, so the re-import's absence diff does not delete its rows.
 *
 * In memory only, beside the source — not in the offset, which stays small. After a restart the memo is
 * empty and the first walk calls every parent with something there (bounded: one call per such deal, the
 * cost of the first sync's walk, no more), and from then on only the changed ones. Updates take effect when
 * the batch that carries them is committed: a batch that never reaches Kafka leaves the memo as it was.
 */
export class ParentMemo implements ParentWalk {
  private readonly walked = new Map<string, Walked>();
  private readonly pending = new WeakMap<ChangeBatch, MemoUpdate>();
  private lastFullWalkMs: number | null = null;
  /** The import in progress ignores the memo (a full walk). */
  private full = false;

  constructor(readonly list: ListSpec, private readonly fullWalkEveryMs = PER_DEAL_FULL_WALK_MS) {}

  /** True when the list's parents carry counters (the memo applies). */
  static appliesTo(list: ListSpec): boolean {
    return list.forEachParent?.counters !== undefined && list.forEachParent.batch === undefined;
  }

  /** An import starts: a full walk when none ran in this process or the last is older than the interval. */
  begin(nowMs: number): boolean {
    this.full = this.lastFullWalkMs === null || nowMs - this.lastFullWalkMs >= this.fullWalkEveryMs;
    return this.full;
  }

  unchanged(parentId: string, signature: string): boolean {
    return !this.full && this.walked.get(parentId)?.signature === signature;
  }

  keysOf(parentId: string): readonly string[] {
    return this.walked.get(parentId)?.keys ?? [];
  }

  pend(batch: ChangeBatch, update: MemoUpdate): void {
    this.pending.set(batch, update);
  }

  committed(batch: ChangeBatch): void {
    const u = this.pending.get(batch);
    if (!u) return;
    this.pending.delete(batch);
    for (const [id, w] of u.walked) this.walked.set(id, w);
    for (const id of u.dropped) this.walked.delete(id);
    if (u.complete) {
      for (const id of [...this.walked.keys()]) if (!u.complete.visited.has(id)) this.walked.delete(id);
      if (u.complete.full) this.lastFullWalkMs = u.complete.startedMs;
    }
  }

  /** Parents remembered (tests, metrics). */
  get size(): number {
    return this.walked.size;
  }
}
