import type { Logger } from '../observe/log.ts';

/**
 * Deletes found by absence — a row no longer listed — are only as good as the list: a truncated answer, or
 * a token whose permissions were reduced, would turn every missing row into a delete. The guard refuses a
 * pass that would delete more than a share of a table's rows at once: it says so and publishes none of
 * them, pass after pass, until the table is confirmed (DELETE_GUARD_CONFIRM) or the rows come back.
 */
export interface DeleteGuard {
  /** Whether `count` deletes out of `of` live rows of `table` may be published now. */
  allows(table: string, count: number, of: number): boolean;
}

export interface DeleteGuardOptions {
  /** Largest share of a table's rows one pass may delete (1 = no guard). */
  readonly maxShare: number;
  /** Tables whose mass delete an operator confirmed. */
  readonly confirmed: ReadonlySet<string>;
  /** Tables this small are never guarded (a few rows going is no sign of a broken list). */
  readonly minRows?: number;
  readonly log: Logger;
  /** The table's pass was refused (true) or allowed again (false). */
  readonly onRefused?: (table: string, refused: boolean) => void;
}

export function deleteGuard(opts: DeleteGuardOptions): DeleteGuard {
  const refused = new Set<string>();
  return {
    allows(table, count, of) {
      const share = of === 0 ? 0 : count / of;
      const ok = opts.confirmed.has(table) || of < (opts.minRows ?? 20) || share <= opts.maxShare;
      if (!ok) {
        opts.log('mass-delete-refused', {
          table,
          wouldDelete: count,
          of,
          maxShare: opts.maxShare,
          what: `a pass would delete ${count} of ${of} rows (${Math.round(share * 100)} %), more than DELETE_GUARD_MAX_SHARE; nothing was deleted. If the rows are really gone, set DELETE_GUARD_CONFIRM=${table} and restart`,
        });
        refused.add(table);
        opts.onRefused?.(table, true);
      } else if (refused.delete(table)) {
        opts.onRefused?.(table, false);
      }
      return ok;
    },
  };
}
