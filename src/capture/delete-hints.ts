import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { PipedriveHttpError } from '../pipedrive/errors.ts';
import type { ChangeBatch, ChangeEvent } from './change.ts';
import { vanishedEvents, type EmitContext } from './emit.ts';
import { keyString } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

/**
 * Ids a `delete.<entity>` webhook named, for tables whose lists hide deleted rows (their deletes otherwise
 * wait for the next id scan, hours away). Owned by the table's runtime, so a failed pass — whose source is
 * thrown away — keeps them; bounded, because a webhook flood must not grow memory (the scan still covers
 * whatever is dropped).
 */
export class DeleteSuspects {
  private readonly ids = new Set<number>();

  constructor(private readonly max = 10_000) {}

  add(id: number): void {
    if (this.ids.size < this.max) this.ids.add(id);
  }

  /** Up to `n` ids, oldest first; they stay until `settled`. */
  peek(n: number): number[] {
    const out: number[] = [];
    for (const id of this.ids) {
      if (out.length >= n) break;
      out.push(id);
    }
    return out;
  }

  settled(ids: readonly number[]): void {
    for (const id of ids) this.ids.delete(id);
  }

  get size(): number {
    return this.ids.size;
  }
}

/** Ids checked per batch: each is one get-one call (1 token on v2). */
const CHECKS_PER_BATCH = 50;

/**
 * A webhook is a hint, not the truth (it may be forged, late, or undone by a restore): each suspected id is
 * read back with the table's get-one endpoint, and only an answer that the row is gone — 404/410, or the
 * row with the table's delete flag set — publishes its delete (and its children's), as an id scan would.
 * Runs when the inner source has nothing new, so a delete never overtakes the row's earlier changes.
 */
export class HintedDeleteSource implements TableSource {
  readonly table: string;
  private offset: TableOffset;
  /** The ids the batch in flight settles once committed. */
  private readonly inFlight = new Map<ChangeBatch, number[]>();

  constructor(
    private readonly inner: TableSource,
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    private readonly getOne: string,
    private readonly suspects: DeleteSuspects,
    start: TableOffset,
  ) {
    this.table = inner.table;
    this.offset = start;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const batch = await this.inner.poll(signal);
    if (batch || this.suspects.size === 0) return batch;
    const { spec } = this.ctx;
    const [pk] = spec.primaryKey;
    const index = this.ctx.indexes.get(this.table);
    const ids = this.suspects.peek(CHECKS_PER_BATCH);
    const events: ChangeEvent[] = [];
    const nowMs = this.client.serverNowMs();
    for (const id of ids) {
      const key = { [pk!]: id };
      // A key never published, or already deleted, has nothing to delete.
      if (index && !index.has(keyString(spec, key))) continue;
      if (await this.gone(id, spec, signal)) events.push(...vanishedEvents(this.ctx, key, nowMs));
    }
    if (events.length === 0) {
      this.suspects.settled(ids);
      return null;
    }
    const out: ChangeBatch = { table: this.table, events, offset: this.offset };
    this.inFlight.set(out, ids);
    return out;
  }

  committed(batch: ChangeBatch): void {
    const ids = this.inFlight.get(batch);
    if (ids) {
      this.inFlight.delete(batch);
      this.suspects.settled(ids);
    }
    this.offset = batch.offset;
    this.inner.committed(batch);
  }

  startsBackfill(nowMs: number): boolean {
    return this.inner.startsBackfill?.(nowMs) ?? false;
  }

  private async gone(id: number, spec: TableSpec, signal?: AbortSignal): Promise<boolean> {
    try {
      const { body } = await this.client.getJson(this.getOne.replace('{id}', String(id)), {}, this.getOne, signal);
      const data = (body as { data?: unknown } | null)?.data;
      if (data === null || typeof data !== 'object') return false;
      const row = data as Record<string, unknown>;
      return spec.deletes.some((d) => d.kind === 'flag' && row[d.field] === d.value);
    } catch (err) {
      if (err instanceof PipedriveHttpError && (err.status === 404 || err.status === 410)) return true;
      throw err;
    }
  }
}
