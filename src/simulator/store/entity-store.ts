/**
 * One v2 entity (person, organization, activity, product, pipeline, stage): create, PATCH, soft
 * delete, purge 30 days after deletion, journaled writes, and cursor lists over any sort key.
 *
 * Unlike deals, rows hold compact records, not response objects: add/update times live only in the
 * Row (numbers), strings are shared where the generator can share them, and `present` builds the
 * response per request. That keeps an account of millions of rows inside the memory budget, at the
 * cost of building at most one page (≤ 500 objects) per request.
 *
 * Deleted rows (documented choice; Pipedrive does not say): lists never return them; get-one does,
 * with is_deleted: true, until they are purged.
 */
import type { SimClock } from '../clock.ts';
import { ACCOUNT } from './account.ts';
import { diffWithCustomFields } from './custom-diff.ts';
import { PURGE_AFTER_MS } from './deals.ts';
import type { EventJournal, ItemType } from './events.ts';
import { KeyIndex, pageSorted, sortRows, updateRange, type KeyOf, type KeyPosition } from './scan.ts';
import { sortKey, Table, type Row, type SortDirection, type SortField } from './table.ts';

const TABLE_SORTS: readonly string[] = ['id', 'update_time', 'add_time'];
const JOURNAL_IGNORED: ReadonlySet<string> = new Set(['update_time']);

export type CustomValues = Readonly<Record<string, unknown>>;

export interface EntityModel<R, C> {
  readonly itemType: ItemType;
  /** A new record from validated changes (unset fields take the account's defaults). */
  create(changes: C, id: number): R;
  /** A new record with the changes applied; `prev` is never mutated. */
  apply(prev: R, changes: C): R;
  /** The record as soft-deleted (is_deleted: true). */
  markDeleted(prev: R): R;
  /** The response object, in the spec's field order. */
  present(row: Row<R>): Record<string, unknown>;
  /** Sort keys beyond id/add_time/update_time (e.g. due_date, name, order_nr). */
  readonly extraKeys?: Readonly<Record<string, KeyOf<R>>>;
  /** Custom field values of a record, and a copy with other values (field deletion strips values). */
  customFields?(r: R): CustomValues;
  withCustomFields?(r: R, values: CustomValues): R;
  /** Never purged: Pipedrive documents permanent deletion only for the six core entities. */
  readonly keepDeleted?: boolean;
}

export interface EntityQuery<R> {
  sortBy: string;
  direction: SortDirection;
  from?: KeyPosition | undefined;
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  limit: number;
  /** At most ~100 ids: paged from the candidates, not by scanning the table. */
  ids?: ReadonlySet<number> | undefined;
  filter?: ((row: Row<R>) => boolean) | undefined;
  /** Default false: soft-deleted rows are not listed. */
  includeDeleted?: boolean;
}

export class EntityStore<R, C> {
  readonly table = new Table<R>();
  private readonly keyIndexes = new Map<string, KeyIndex<R>>();

  constructor(
    private readonly clock: SimClock,
    private readonly journal: EventJournal,
    readonly model: EntityModel<R, C>,
    /** The user API writes are attributed to (the token's user). */
    private readonly actorUserId: number = ACCOUNT.tokenUserId,
  ) {}

  get itemType(): ItemType {
    return this.model.itemType;
  }

  /** Create through the API path: add_time = update_time = now. */
  create(changes: C): Row<R> {
    const now = this.clock.nowSeconds();
    return this.insertAt(now, now, changes);
  }

  /** Create with explicit times (tests, fixtures); journaled like an API create. */
  insertAt(addSec: number, updateSec: number, changes: C): Row<R> {
    const row = this.insert(addSec, updateSec, (id) => this.model.create(changes, id));
    this.record('add', null, row);
    return row;
  }

  /** Insert a fully built record without journaling (the seed generator). */
  insert(addSec: number, updateSec: number, build: (id: number) => R): Row<R> {
    this.invalidate();
    return this.table.insert(addSec, updateSec, build);
  }

  /** Live or soft-deleted (not yet purged) row. */
  getRow(id: number): Row<R> | undefined {
    this.purge();
    return this.table.get(id);
  }

  /** A row that is not deleted. */
  getLive(id: number): Row<R> | undefined {
    const row = this.getRow(id);
    return row && row.deletedAtMs === null ? row : undefined;
  }

  present(row: Row<R>): Record<string, unknown> {
    return this.model.present(row);
  }

  /** PATCH semantics; undefined when absent or deleted. */
  update(id: number, changes: C): Row<R> | undefined {
    const row = this.getLive(id);
    if (!row) return undefined;
    const before = this.model.present(row);
    this.table.update(row, this.model.apply(row.data, changes), this.clock.nowSeconds());
    this.invalidate();
    this.record('update', before, row);
    return row;
  }

  /** Soft delete: is_deleted: true, update_time moves. False when absent or already deleted. */
  delete(id: number): boolean {
    const row = this.getLive(id);
    if (!row) return false;
    const before = this.model.present(row);
    this.table.markDeleted(row, this.model.markDeleted(row.data), this.clock.nowSeconds(), this.clock.nowMs());
    this.invalidate();
    this.record('delete', before, row);
    return true;
  }

  list(q: EntityQuery<R>): { rows: Row<R>[]; next: KeyPosition | null } {
    this.purge();
    const inRange = updateRange(q.sinceMs, q.untilMs);
    const accept = (r: Row<R>): boolean =>
      (q.includeDeleted === true || r.deletedAtMs === null) && (!q.filter || q.filter(r));
    const key = this.keyOf(q.sortBy);
    if (q.ids) {
      const candidates = [...q.ids].map((id) => this.table.get(id)).filter((r): r is Row<R> => r !== undefined);
      return pageSorted(sortRows(candidates, key), key, { ...q, accept: (r) => inRange(r) && accept(r) });
    }
    if (TABLE_SORTS.includes(q.sortBy)) {
      const from = q.from && typeof q.from.value === 'number' ? { value: q.from.value, id: q.from.id } : undefined;
      return this.table.scan({ ...q, sortBy: q.sortBy as SortField, from, filter: accept });
    }
    let index = this.keyIndexes.get(q.sortBy);
    if (!index) this.keyIndexes.set(q.sortBy, (index = new KeyIndex(key)));
    return pageSorted(index.rows(this.table.all()), key, { ...q, accept: (r) => inRange(r) && accept(r) });
  }

  /** Rows still held (live and soft-deleted), in id order. */
  all(): readonly Row<R>[] {
    this.purge();
    return this.table.all();
  }

  /** Drop a deleted custom field's values from every row; not an item change (no journal, times stay). */
  dropCustomField(key: string): void {
    const { customFields, withCustomFields } = this.model;
    if (!customFields || !withCustomFields) return;
    for (const row of this.table.all()) {
      const values = customFields(row.data);
      if (!(key in values)) continue;
      const { [key]: _dropped, ...rest } = values;
      row.data = withCustomFields(row.data, rest);
    }
  }

  /** Permanently drop rows deleted more than 30 days ago (sim clock). Returns their ids. */
  purge(): number[] {
    if (this.model.keepDeleted) return [];
    const purged = this.table.purgeDeletedBefore(this.clock.nowMs() - PURGE_AFTER_MS);
    if (purged.length > 0) this.invalidate();
    return purged;
  }

  private keyOf(sortBy: string): KeyOf<R> {
    const extra = this.model.extraKeys?.[sortBy];
    if (extra) return extra;
    if (!TABLE_SORTS.includes(sortBy)) throw new Error(`${this.itemType}: no sort key ${sortBy}`);
    return (r) => sortKey(r, sortBy as SortField);
  }

  private invalidate(): void {
    for (const index of this.keyIndexes.values()) index.invalidate();
  }

  private record(action: 'add' | 'update' | 'delete', before: Record<string, unknown> | null, row: Row<R>): void {
    const after = this.model.present(row);
    this.journal.append({
      itemType: this.model.itemType,
      id: row.id,
      action,
      timeMs: this.clock.nowMs(),
      userId: this.actorUserId,
      changes: diffWithCustomFields(before, after, JOURNAL_IGNORED),
    });
  }
}
