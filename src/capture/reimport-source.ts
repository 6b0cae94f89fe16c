import type { TableSpec } from '../catalog/types.ts';
import type { PipedriveClient } from '../pipedrive/client.ts';
import { listAll } from '../pipedrive/lists.ts';
import { parseRow, type Row } from '../pipedrive/row.ts';
import { Op, type ChangeBatch, type ChangeEvent } from './change.ts';
import { contentHash, eventsFor, isDeletedRow, vanishedEvents, type EmitContext } from './emit.ts';
import { keyString } from './key-index.ts';
import type { TableOffset } from './offset.ts';
import type { TableSource } from './table-source.ts';

export const DAY_MS = 24 * 3600 * 1000;

/**
 * Tables without any change feed: read everything and diff with the previous import (key → content hash
 * kept in the offset). New keys are creates, changed ones updates, missing ones deletes. One import is one
 * batch, so a crash mid-import re-reads it. Runs on every pass (`every: 'sync'`) or once a day by the
 * API's clock.
 */
export class ReimportSource implements TableSource {
  readonly table: string;
  /** Read through the context: the engine widens it when custom fields appear. */
  private get spec(): TableSpec {
    return this.ctx.spec;
  }
  private offset: TableOffset;
  private importedThisPass = false;

  constructor(
    private readonly ctx: EmitContext,
    private readonly client: PipedriveClient,
    start: TableOffset,
  ) {
    if (this.spec.sync.kind !== 'reimport') throw new Error(`${this.spec.name}: not a re-imported table`);
    this.table = this.spec.name;
    this.offset = start;
  }

  /** True when an import is due (a pass ended and the schedule allows another). */
  due(nowMs: number): boolean {
    const sync = this.spec.sync as Extract<TableSpec['sync'], { kind: 'reimport' }>;
    if (this.offset.lastImportMs === undefined || sync.every === 'sync') return true;
    return nowMs - this.offset.lastImportMs >= DAY_MS;
  }

  async poll(signal?: AbortSignal): Promise<ChangeBatch | null> {
    const sync = this.spec.sync as Extract<TableSpec['sync'], { kind: 'reimport' }>;
    // One import per pass: the engine polls until null, and an every-sync import is always due.
    if (this.importedThisPass) {
      this.importedThisPass = false;
      return null;
    }
    if (!this.due(this.client.serverNowMs())) return null;
    this.importedThisPass = true;
    // Pipedrive's clock has whole seconds: versions found by an import are stamped with its start second.
    const startedMs = Math.floor(this.client.serverNowMs() / 1000) * 1000;
    const seen = new Map<string, { raw: unknown; row: Row; hash: string }>();
    let index = 0;
    for await (const page of listAll(this.client, sync.list, {}, signal)) {
      for (const { item, parent, wrapper } of page) {
        const row = parseRow(this.spec, item, { parent, item: wrapper, index: index++ });
        seen.set(keyString(this.spec, row), { raw: item, row, hash: contentHash(row) });
      }
    }
    const before = this.offset.imported ?? {};
    const events: ChangeEvent[] = [];
    const imported: Record<string, string> = {};
    for (const [key, { raw, row, hash }] of seen) {
      if (isDeletedRow(this.spec, row)) {
        if (before[key] !== undefined) events.push(...eventsFor(this.ctx, raw, row, Op.delete, startedMs));
        continue;
      }
      imported[key] = hash;
      if (before[key] === hash) continue;
      const op = !this.offset.snapshotDone ? Op.read : before[key] === undefined ? Op.create : Op.update;
      events.push(...eventsFor(this.ctx, raw, row, op, startedMs));
    }
    for (const key of Object.keys(before)) {
      if (imported[key] === undefined && !seen.has(key)) events.push(...vanishedEvents(this.ctx, keyRow(this.spec, key), startedMs));
    }
    const offset: TableOffset = { ...this.offset, imported, lastImportMs: startedMs, snapshotDone: true };
    if (events.length === 0 && this.offset.snapshotDone && sync.every === 'sync') {
      // Nothing changed: an every-sync table has no schedule to record, so no transaction is needed.
      this.offset = offset;
      return null;
    }
    return { table: this.table, events, offset };
  }

  committed(batch: ChangeBatch): void {
    this.offset = batch.offset;
  }

  startsBackfill(nowMs: number): boolean {
    return this.due(nowMs);
  }
}

/** Rebuilds a key row from its key string (single keys keep their type as text; composite keys are JSON). */
export function keyRow(spec: TableSpec, key: string): Row {
  if (spec.primaryKey.length === 1) {
    const col = spec.columns.find((c) => c.name === spec.primaryKey[0])!;
    return { [col.name]: col.type === 'long' || col.type === 'double' ? Number(key) : key };
  }
  const values = JSON.parse(key) as Array<string | number | boolean | null>;
  return Object.fromEntries(spec.primaryKey.map((k, i) => [k, values[i] ?? null]));
}
