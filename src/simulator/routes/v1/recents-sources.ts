/**
 * Where GET /v1/recents reads each item type: the store's table, scanned by update time, and the
 * v1 presenter. Rows are read as they are now (live and soft-deleted until purged), so seeded rows
 * and API writes look the same and a delete shows as the item with its deleted flags.
 */
import type { SimStore } from '../../store/index.ts';
import type { Row, Table } from '../../store/table.ts';
import { presentActivityType } from './activity-types.ts';
import { presentDealV1 } from './deal-v1.ts';
import { presentFile } from './files.ts';
import { presentFilter } from './filters.ts';
import { names } from './names.ts';
import { presentNote } from './notes.ts';
import { presentUser } from './users.ts';
import { toV1, type V2ItemType } from './v1-values.ts';

/** The item types the real recents serves (the spec's enum), in the order same-second items sort. */
export const RECENTS_ITEMS = ['activity', 'activityType', 'deal', 'file', 'filter', 'note', 'person', 'organization', 'pipeline', 'product', 'stage', 'user'] as const;
export type RecentsItem = (typeof RECENTS_ITEMS)[number];

export interface RecentsSource {
  readonly item: RecentsItem;
  readonly table: Table<unknown>;
  /** Drop rows past their purge time before reading. */
  purge(): void;
  /** The item's v1 object (`user` items: an array of one, as the real API sends). */
  present(row: Row<unknown>, viewerId: number): unknown;
}

function source<T>(item: RecentsItem, table: Table<T>, purge: () => unknown, present: (row: Row<T>, viewerId: number) => unknown): RecentsSource {
  return { item, table: table as Table<unknown>, purge: () => void purge(), present: present as RecentsSource['present'] };
}

export function recentsSources(store: SimStore): Record<RecentsItem, RecentsSource> {
  const n = names(store);
  const { v1 } = store;
  const v2 = <T>(item: V2ItemType, s: { table: Table<T>; purge(): unknown; present(row: Row<T>): Record<string, unknown> }): RecentsSource =>
    source(item, s.table, () => s.purge(), (row) => toV1(item, s.present(row), store));
  return {
    activity: v2('activity', store.activities),
    activityType: source('activityType', v1.activityTypes.rows.table, () => v1.activityTypes.rows.purge(), presentActivityType),
    deal: source('deal', store.deals.table, () => store.deals.purge(), (row) => presentDealV1(row.data, store)),
    file: source('file', v1.files.rows.table, () => v1.files.rows.purge(), (row) => presentFile(row, n, store)),
    filter: source('filter', v1.filters.rows.table, () => v1.filters.rows.purge(), (row) => presentFilter(row)),
    note: source('note', v1.notes.rows.table, () => v1.notes.rows.purge(), (row, me) => presentNote(row, n, me, store)),
    person: v2('person', store.persons),
    organization: v2('organization', store.organizations),
    pipeline: v2('pipeline', store.pipelines),
    product: v2('product', store.products),
    stage: v2('stage', store.stages),
    user: source('user', v1.users.rows.table, () => undefined, (row, me) => [presentUser(row, me)]),
  };
}
