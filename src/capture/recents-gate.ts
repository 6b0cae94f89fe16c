import type { PipedriveClient } from '../pipedrive/client.ts';
import { RECENTS_WINDOW_MS, fetchRecentsChanges, type RecentsChanges } from '../pipedrive/recents.ts';
import type { ChangeBatch } from './change.ts';
import type { EmitContext } from './emit.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

/** Overlap below a table's clear time: Recents' `since_timestamp` is exclusive, times have whole seconds. */
const MARGIN_MS = 2000;
/** A check answers the other gated tables that ask within this long of API time (one call per round of passes). */
const REUSE_MS = 10_000;
/** Only inside Recents' 30-day window, with an hour to spare. */
const MAX_AGE_MS = RECENTS_WINDOW_MS - 3600 * 1000;

/**
 * One Recents call shared by the gated tables of a connector: `since` is the oldest clear time among them,
 * `items` all their item types, so one call (20 tokens) answers a whole round of passes.
 */
class RecentsCheck {
  private readonly clearUntil = new Map<string, number>();
  private readonly items = new Map<string, string>();
  private last: { readonly seq: number; readonly answer: Promise<RecentsChanges> } | undefined;
  private seq = 0;
  /** The check each table used last: a table never takes the same answer twice (one check per round). */
  private readonly usedSeq = new Map<string, number>();

  constructor(private readonly client: PipedriveClient) {}

  register(table: string, item: string): void {
    this.items.set(table, item);
  }

  /** Everything of the table up to this API time is published (its last complete pass, or a check's). */
  clear(table: string, untilMs: number): void {
    this.clearUntil.set(table, Math.max(untilMs, this.clearUntil.get(table) ?? untilMs));
  }

  clearTime(table: string): number | undefined {
    return this.clearUntil.get(table);
  }

  /** Whether Recents shows nothing of the table's item type since its clear time (then the pass is skipped). */
  async unchanged(table: string, signal?: AbortSignal): Promise<RecentsChanges | null> {
    const since = this.clearUntil.get(table);
    const now = this.client.serverNowMs();
    if (since === undefined || now - since > MAX_AGE_MS) return null;
    const last = this.last;
    let check = last && this.usedSeq.get(table) !== last.seq ? await last.answer.catch(() => undefined) : undefined;
    // Another table's answer serves this one if it is fresh (API time) and reaches back far enough.
    if (!check || now - check.asOfMs > REUSE_MS || check.sinceMs > since - MARGIN_MS) {
      const oldest = Math.min(...[...this.items.keys()].map((t) => (this.clearUntil.get(t) ?? since) - MARGIN_MS));
      const answer = fetchRecentsChanges(this.client, [...new Set(this.items.values())], Math.max(oldest, now - MAX_AGE_MS), signal);
      this.last = { seq: ++this.seq, answer };
      check = await answer;
    }
    this.usedSeq.set(table, this.last!.seq);
    const item = this.items.get(table)!;
    return check.all || check.changed.has(item) ? null : check;
  }
}

const checks = new WeakMap<PipedriveClient, RecentsCheck>();

function checkOf(client: PipedriveClient): RecentsCheck {
  let c = checks.get(client);
  if (!c) checks.set(client, (c = new RecentsCheck(client)));
  return c;
}

/**
 * "The table changed": set for a table's next pass when a webhook asked for it, so that pass reads the list
 * without asking Recents first (20 tokens that would only confirm what the webhook said).
 */
export class ChangeHints {
  private hinted = false;

  mark(): void {
    this.hinted = true;
  }

  /** True once after `mark`. */
  take(): boolean {
    const hinted = this.hinted;
    this.hinted = false;
    return hinted;
  }
}

/**
 * A one-call change check in front of an incremental table (deal, activity, person, organization, product,
 * pipeline, stage, and the Recents tables): a pass starts with the connector's shared Recents check, and when
 * Recents lists nothing of the table's item type since the table's last complete pass, the pass ends at
 * once — no list call. When it lists something (or its page is full), the table's own list is read as
 * always: Recents only ever says "nothing changed", the list remains the truth. Not used while the table's
 * first sync, a backfill or a full import is due or under way, nor when the clear time is older than Recents'
 * 30-day window, nor for a pass a webhook asked for (`ChangeHints`); the periodic work of outer decorators (id scans, archived deals) is not gated.
 */
export class RecentsGate implements TableSource {
  readonly table: string;
  private offset: TableOffset;
  private passStartMs: number | undefined;
  private readonly check: RecentsCheck;

  constructor(
    private readonly inner: TableSource,
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    item: string,
    start: TableOffset,
    private readonly hints?: ChangeHints,
  ) {
    this.table = inner.table;
    this.offset = start;
    this.check = checkOf(client);
    this.check.register(this.table, item);
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    if (this.passStartMs === undefined) {
      const hinted = this.hints?.take() === true;
      const live = !hinted && this.offset.snapshotDone && this.offset.backfill === undefined && this.offset.import === undefined && !this.inner.startsBackfill?.(this.client.serverNowMs());
      if (live && this.check.clearTime(this.table) !== undefined) {
        const quiet = await this.check.unchanged(this.table, signal);
        if (quiet) {
          this.check.clear(this.table, quiet.asOfMs - MARGIN_MS - (this.ctx.latenessMs ?? 0));
          return null;
        }
      }
      this.passStartMs = this.client.serverNowMs();
    }
    const batch = await this.inner.poll(signal);
    if (batch === null) {
      // Caught up: every change before this pass started is published.
      if (this.offset.snapshotDone) this.check.clear(this.table, this.passStartMs - MARGIN_MS - (this.ctx.latenessMs ?? 0));
      this.passStartMs = undefined;
    }
    return batch;
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
    this.inner.committed(batch);
  }

  startsBackfill(nowMs: number): boolean {
    return this.inner.startsBackfill?.(nowMs) ?? false;
  }
}
