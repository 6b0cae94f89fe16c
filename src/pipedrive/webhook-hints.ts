/**
 * From webhook hints to table passes, bursts coalesced: a hint for a table that is idle starts its pass
 * at once; hints arriving while it runs (a bulk edit, a busy hour) ask for exactly one more pass after it,
 * which sees everything they announced — the pass reads the API from the table's cursor, so no hint is
 * lost by being folded into another, and none is needed for correctness (the poll still runs).
 */
import type { Logger } from '../observe/log.ts';
import type { WebhookHint } from './webhook-receiver.ts';

interface TableState {
  running: Promise<void> | undefined;
  again: boolean;
  /** When the table's last hinted pass started (for minGapMs). */
  lastStartMs: number;
  /** The newest hint for the table (its changedAtMs tells a pass how old the change it serves is). */
  latest: WebhookHint;
}

export class HintCoalescer {
  private readonly tables = new Map<string, TableState>();
  /** Passes started, per table (tests and metrics). */
  readonly passes = new Map<string, number>();

  constructor(
    /** One incremental pass of the table (e.g. the scheduler's "poll this table now"). */
    private readonly runPass: (table: string, hints: { latest: WebhookHint }) => Promise<void>,
    private readonly log?: Logger,
    /**
     * The least time between the starts of two hinted passes of a table (WEBHOOK_MIN_PASS_GAP_MS): caps
     * what hints spend — a pass costs its list calls — at the price of up to that much freshness.
     */
    private readonly minGapMs = 0,
  ) {}

  hint(h: WebhookHint): void {
    let s = this.tables.get(h.table);
    if (!s) this.tables.set(h.table, (s = { running: undefined, again: false, lastStartMs: Number.NEGATIVE_INFINITY, latest: h }));
    s.latest = h;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = this.loop(h.table, s);
  }

  /** Resolves when no table has a pass running or asked for. */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.tables.values()].flatMap((s) => (s.running ? [s.running] : []));
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  private async loop(table: string, s: TableState): Promise<void> {
    try {
      do {
        const wait = s.lastStartMs + this.minGapMs - Date.now();
        // Unref'd: a gap still to wait never holds a stopping process open (the pass would find no session).
        if (wait > 0) await new Promise((r) => setTimeout(r, wait).unref());
        s.again = false;
        s.lastStartMs = Date.now();
        this.passes.set(table, (this.passes.get(table) ?? 0) + 1);
        try {
          await this.runPass(table, { latest: s.latest });
        } catch (err) {
          // The regular poll retries the table; a failed hint-triggered pass only costs freshness.
          this.log?.('webhook-pass-failed', { table, error: err instanceof Error ? err.message : String(err) });
        }
      } while (s.again);
    } finally {
      s.running = undefined;
    }
  }
}
