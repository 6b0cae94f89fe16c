import { createHash } from 'node:crypto';
import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { formatRfc3339, type Row } from '../pipedrive/row.ts';
import { fetchV2Page } from '../pipedrive/v2-list.ts';
import { Op, type ChangeBatch, type ChangeEvent } from './change.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

/**
 * Incremental sync through a v2 list sorted by update time ascending with an inclusive `updated_since`.
 * A pass walks the cursor pages; each page is one batch. Between passes the table rests at its offset.
 */
export class UpdatedSinceSource implements TableSource {
  readonly table: string;
  private offset: TableOffset;
  /** The v2 page cursor of the pass in progress; undefined when no pass is running. */
  private pageCursor: string | undefined;
  private passQuery: Record<string, string> | undefined;

  constructor(
    private readonly spec: TableSpec,
    private readonly client: PipedriveClient,
    start: TableOffset,
  ) {
    if (spec.syncMode.kind !== 'updated-since') throw new Error(`${spec.name}: not an updated-since table`);
    this.table = spec.name;
    this.offset = start;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    for (;;) {
      if (!this.passQuery) {
        const mode = this.spec.syncMode;
        this.passQuery = { sort_by: mode.cursorField, sort_direction: 'asc' };
        if (this.offset.cursorMs !== null) this.passQuery[mode.sinceParam] = formatRfc3339(this.offset.cursorMs);
        this.pageCursor = undefined;
      }
      const query = this.pageCursor ? { ...this.passQuery, cursor: this.pageCursor } : this.passQuery;
      const page = await fetchV2Page(this.client, this.spec, query, signal);
      const lastPage = page.nextCursor === null;
      this.pageCursor = page.nextCursor ?? undefined;
      if (lastPage) this.passQuery = undefined;

      const { events, offset } = this.advance(page.rows, lastPage);
      // A batch when there is something to publish, or when the first full pass just ended (snapshotDone).
      if (events.length > 0 || offset.snapshotDone !== this.offset.snapshotDone) {
        return { table: this.table, events, offset };
      }
      if (lastPage) return null;
    }
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
  }

  /** The events of a page and the offset after them; pure given the current offset. */
  private advance(rows: readonly Row[], lastPage: boolean): { events: ChangeEvent[]; offset: TableOffset } {
    const { cursorField } = this.spec.syncMode;
    const prev = this.offset;
    let cursorMs = prev.cursorMs;
    let emitted: Record<string, string> = { ...prev.emittedAtCursor };
    const events: ChangeEvent[] = [];
    for (const row of rows) {
      const ts = row[cursorField];
      if (typeof ts !== 'number') continue; // a row without update time cannot be ordered; never seen in practice
      const id = keyString(this.spec, row);
      const hash = contentHash(row);
      if (cursorMs !== null && ts < cursorMs) continue; // older than what was already published
      if (ts === cursorMs && emitted[id] === hash) continue; // this exact version was published
      const earlierVersionThisSecond = ts === cursorMs && emitted[id] !== undefined;
      events.push({ table: this.table, key: keyOf(this.spec, row), row, op: this.opOf(row, ts, earlierVersionThisSecond), sourceTsMs: ts });
      if (cursorMs === null || ts > cursorMs) {
        cursorMs = ts;
        emitted = {};
      }
      emitted[id] = hash;
    }
    const snapshotDone = prev.snapshotDone || lastPage;
    return { events, offset: { version: 1, cursorMs, emittedAtCursor: emitted, snapshotDone } };
  }

  /** A row created in the same second as an already-published version of it is an update, not a create. */
  private opOf(row: Row, ts: number, earlierVersionThisSecond: boolean): Op {
    const { deletes, createdField } = this.spec;
    if (deletes.kind === 'flag-in-list' && row[deletes.flag] === true) return Op.delete;
    if (!this.offset.snapshotDone) return Op.read;
    return row[createdField] === ts && !earlierVersionThisSecond ? Op.create : Op.update;
  }
}

export function keyOf(spec: TableSpec, row: Row): Row {
  return Object.fromEntries(spec.primaryKey.map((k) => [k, row[k] ?? null]));
}

function keyString(spec: TableSpec, row: Row): string {
  return spec.primaryKey.map((k) => String(row[k])).join('|');
}

function contentHash(row: Row): string {
  return createHash('sha1').update(JSON.stringify(row)).digest('base64url').slice(0, 16);
}
