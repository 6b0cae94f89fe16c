/**
 * Saved filters (v1 only). Read through the API (list by type, get one); the seeded account has a
 * few per type. Writes exist on the store for tests (a user saving or deleting a filter in the UI).
 */
import type { SimClock } from '../clock.ts';
import type { EventJournal } from './events.ts';
import type { Row } from './table.ts';
import { JournaledTable } from './v1-base.ts';

export const FILTER_TYPES = ['deals', 'leads', 'org', 'people', 'products', 'activity', 'projects'] as const;
export type FilterType = (typeof FILTER_TYPES)[number];

export interface FilterCondition {
  object: string;
  field_id: string;
  operator: string;
  value: unknown;
  extra_value: unknown;
}

export interface FilterRecord {
  name: string;
  type: FilterType;
  user_id: number;
  visible_to: '1' | '3' | '5' | '7';
  active_flag: boolean;
  temporary_flag: boolean | null;
  custom_view_id: number | null;
  last_used_sec: number | null;
  conditions: { glue: 'and'; conditions: { glue: 'and' | 'or'; conditions: FilterCondition[] }[] };
}

const DEFAULTS: [string, FilterType, FilterCondition][] = [
  ['All open deals', 'deals', { object: 'deal', field_id: '12451', operator: '=', value: 'open', extra_value: null }],
  ['Won this month', 'deals', { object: 'deal', field_id: '12452', operator: '=', value: 'this_month', extra_value: null }],
  ['Hot leads', 'leads', { object: 'lead', field_id: '13001', operator: '=', value: 'hot', extra_value: null }],
  ['Key accounts', 'org', { object: 'organization', field_id: '4001', operator: 'IS NOT NULL', value: null, extra_value: null }],
  ['Decision makers', 'people', { object: 'person', field_id: '9001', operator: "LIKE '%$%'", value: 'Director', extra_value: null }],
  ['Active products', 'products', { object: 'product', field_id: '20001', operator: '=', value: '1', extra_value: null }],
  ['Overdue activities', 'activity', { object: 'activity', field_id: '30001', operator: '<', value: 'today', extra_value: null }],
  ['Open projects', 'projects', { object: 'project', field_id: '40001', operator: '=', value: 'open', extra_value: null }],
];

export class FilterStore {
  readonly rows: JournaledTable<FilterRecord>;

  constructor(clock: SimClock, journal: EventJournal, baseSec: number) {
    this.rows = new JournaledTable<FilterRecord>(clock, journal, 'filter');
    for (const [name, type, cond] of DEFAULTS) {
      this.rows.seed(baseSec, baseSec, () => filter(name, type, 1, cond));
    }
  }

  list(type?: FilterType): Row<FilterRecord>[] {
    return this.rows.all().filter((r) => r.deletedAtMs === null && (type === undefined || r.data.type === type));
  }

  get(id: number): Row<FilterRecord> | undefined {
    return this.rows.live(id);
  }

  create(actor: number, name: string, type: FilterType, cond: FilterCondition): Row<FilterRecord> {
    return this.rows.add(actor, () => filter(name, type, actor, cond));
  }

  delete(actor: number, id: number): boolean {
    const row = this.rows.live(id);
    if (!row) return false;
    this.rows.softDelete(row, actor, { ...row.data, active_flag: false });
    return true;
  }
}

function filter(name: string, type: FilterType, userId: number, cond: FilterCondition): FilterRecord {
  return {
    name, type, user_id: userId, visible_to: '7', active_flag: true, temporary_flag: null, custom_view_id: null, last_used_sec: null,
    conditions: { glue: 'and', conditions: [{ glue: 'and', conditions: [cond] }, { glue: 'or', conditions: [] }] },
  };
}
