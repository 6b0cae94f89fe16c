import { hash } from 'node:crypto';
import type { TableSpec } from '../catalog/types.ts';
import { parseRow, type Row, type RowContext } from '../pipedrive/row.ts';
import { Op, type ChangeEvent } from './change.ts';
import { type CustomColumnNames, type FieldDef, unknownCustomKeys } from './custom-fields.ts';
import type { DeleteGuard } from './delete-guard.ts';
import { KeyIndex, keyOf, keyString } from './key-index.ts';

/** What a source needs to turn API objects into change events: its table, child tables and key indexes. */
export interface EmitContext {
  /** The table, with its custom-field columns (replaced by the engine when the field catalog changes). */
  spec: TableSpec;
  /** Custom field hash → column name, as far as known (rows with other hashes stop the poll for a refresh). */
  customNames?: CustomColumnNames;
  /** True while the day's API budget is low: running backfills pause (incremental reads go on). */
  budgetLow?: () => boolean;
  /** The field catalog as last read (types and options of custom fields). */
  customDefs?: readonly FieldDef[];
  readonly tableOf: (name: string) => TableSpec;
  /** Key indexes of tables whose deletes are found by absence (child tables, id-scanned tables). */
  readonly indexes: ReadonlyMap<string, KeyIndex>;
  /** Refuses deletes by absence of too large a share of a table at once. */
  readonly deleteGuard?: DeleteGuard;
  /**
   * How far below the cursor incremental reads start again (ms, whole seconds): a row whose update time is
   * stamped before it becomes visible is still published, once, if it shows up within this window.
   */
  readonly latenessMs?: number;
}

/** A row holds a custom field the table's columns don't know yet: refresh the field catalog, then poll again. */
export class CustomFieldsChanged extends Error {
  override name = 'CustomFieldsChanged';
  constructor(readonly table: string) {
    super(`table ${table}: rows hold custom fields not in the field catalog read so far`);
  }
}

/**
 * A row's content hash: the first 12 base64url characters of the SHA-1 of its JSON (columns in the table's
 * order). It decides change detection — a row whose hash equals the one last published is not published
 * again — and travels in record headers and offsets, so its value must never change. `hash` is the one-shot
 * form of createHash (no Hash object per row; Node ≥ 20.12).
 */
export function contentHash(row: Row): string {
  return hash('sha1', JSON.stringify(row), 'base64url').slice(0, 12);
}

/** True when the row carries one of the table's delete flags. */
export function isDeletedRow(spec: TableSpec, row: Row): boolean {
  return spec.deletes.some((d) => d.kind === 'flag' && row[d.field] === d.value);
}

/**
 * The op of a version: `d` for a flagged delete; `r` during the first full pass; `c` when created in the
 * second of this version and no earlier version of it was published; else `u`.
 */
export function opOf(spec: TableSpec, row: Row, sourceTsMs: number, snapshotDone: boolean, earlierVersionThisSecond: boolean): Op {
  if (isDeletedRow(spec, row)) return Op.delete;
  if (!snapshotDone) return Op.read;
  const created = spec.createdField ? row[spec.createdField] : undefined;
  return created === sourceTsMs && !earlierVersionThisSecond ? Op.create : Op.update;
}

/**
 * The events of one parent version: the parent row, its children's current rows, and deletes for the
 * children the parent no longer holds (found through the child table's key index). `hash`: the row's
 * content hash when the caller computed it already.
 */
export function eventsFor(ctx: EmitContext, raw: unknown, row: Row, op: Op, sourceTsMs: number, hash?: string): ChangeEvent[] {
  const { spec } = ctx;
  if (spec.customFields && unknownCustomKeys(spec, raw, ctx.customNames ?? {}).length > 0) throw new CustomFieldsChanged(spec.name);
  const events: ChangeEvent[] = [{ table: spec.name, key: keyOf(spec, row), row, op, sourceTsMs, raw, ...(op === Op.delete ? {} : { hash: hash ?? contentHash(row) }) }];
  for (const child of spec.children ?? []) {
    const childSpec = ctx.tableOf(child.table);
    const elements = op === Op.delete ? [] : at(raw, child.from);
    const current = Array.isArray(elements) ? elements.map((el, index) => parseRow(childSpec, el, { parent: raw, index } satisfies RowContext)) : [];
    const currentKeys = new Set(current.map((r) => keyString(childSpec, r)));
    const childOp = op === Op.delete ? Op.update : op;
    for (const r of current) events.push({ table: childSpec.name, key: keyOf(childSpec, r), row: r, op: childOp, sourceTsMs, hash: contentHash(r) });
    const index = ctx.indexes.get(childSpec.name);
    for (const gone of index?.childrenOf(raw as Record<string, unknown>) ?? []) {
      if (!currentKeys.has(keyString(childSpec, gone))) events.push({ table: childSpec.name, key: keyOf(childSpec, gone), row: gone, op: Op.delete, sourceTsMs });
    }
  }
  return events;
}

/**
 * Delete events for a key that vanished (re-import diff, id scan): the row is just its key, and the children
 * it held (by the child tables' key indexes) go with it.
 */
export function vanishedEvents(ctx: EmitContext, key: Row, sourceTsMs: number): ChangeEvent[] {
  const { spec } = ctx;
  const events: ChangeEvent[] = [{ table: spec.name, key: keyOf(spec, key), row: key, op: Op.delete, sourceTsMs }];
  for (const child of spec.children ?? []) {
    const childSpec = ctx.tableOf(child.table);
    for (const gone of ctx.indexes.get(childSpec.name)?.childrenOf(key) ?? []) {
      events.push({ table: childSpec.name, key: keyOf(childSpec, gone), row: gone, op: Op.delete, sourceTsMs });
    }
  }
  return events;
}

function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
