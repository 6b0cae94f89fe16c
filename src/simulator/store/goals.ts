/**
 * Goals (v1 only), keyed by a 32-hex id. Goals have no update_time in the API; the row's times are
 * still kept (and every write journaled) so tests can see what changed. Delete marks the goal
 * inactive and hides it; results are computed by the route from the deals store.
 */
import type { SimClock } from '../clock.ts';
import type { EventJournal } from './events.ts';
import { hexIdFor, ID_KIND } from './ids.ts';
import type { Row } from './table.ts';
import { JournaledTable } from './v1-base.ts';

export const GOAL_TYPES = ['deals_won', 'deals_progressed', 'activities_completed', 'activities_added', 'deals_started'] as const;
export type GoalType = (typeof GOAL_TYPES)[number];
export const GOAL_INTERVALS = ['weekly', 'monthly', 'quarterly', 'yearly'] as const;
export type GoalInterval = (typeof GOAL_INTERVALS)[number];
export const ASSIGNEE_TYPES = ['person', 'company', 'team'] as const;
export type AssigneeType = (typeof ASSIGNEE_TYPES)[number];

export interface GoalRecord {
  gid: string;
  owner_id: number;
  title: string;
  type_name: GoalType;
  pipeline_ids: number[] | null;
  activity_type_ids: number[] | null;
  stage_id: number | null;
  assignee_type: AssigneeType;
  assignee_id: number;
  interval: GoalInterval;
  /** YYYY-MM-DD */
  start: string;
  end: string;
  target: number;
  tracking_metric: 'quantity' | 'sum';
  currency_id: number | null;
  is_active: boolean;
  report_ids: string[];
}

export type GoalInput = Omit<GoalRecord, 'gid' | 'owner_id' | 'is_active' | 'report_ids'>;

export class GoalStore {
  readonly rows: JournaledTable<GoalRecord>;
  private readonly byGid = new Map<string, number>();

  constructor(clock: SimClock, journal: EventJournal) {
    this.rows = new JournaledTable<GoalRecord>(clock, journal, 'goal', (r) => r.data.gid);
  }

  seed(addSec: number, build: (gid: string) => GoalRecord): Row<GoalRecord> {
    return this.indexed(this.rows.seed(addSec, addSec, (id) => build(hexIdFor(ID_KIND.goal, id))));
  }

  create(actor: number, g: GoalInput, reportId: (n: number) => string): Row<GoalRecord> {
    return this.indexed(this.rows.add(actor, (id) => ({ gid: hexIdFor(ID_KIND.goal, id), owner_id: actor, ...g, is_active: true, report_ids: [reportId(id)] })));
  }

  update(actor: number, gid: string, ch: Partial<GoalInput>): Row<GoalRecord> | undefined {
    const row = this.get(gid);
    if (!row) return undefined;
    const defined = Object.fromEntries(Object.entries(ch).filter(([, v]) => v !== undefined));
    return this.rows.update(row, actor, { ...row.data, ...defined });
  }

  delete(actor: number, gid: string): boolean {
    const row = this.get(gid);
    if (!row) return false;
    this.rows.softDelete(row, actor, { ...row.data, is_active: false });
    return true;
  }

  get(gid: string): Row<GoalRecord> | undefined {
    const id = this.byGid.get(gid);
    return id === undefined ? undefined : this.rows.live(id);
  }

  list(): Row<GoalRecord>[] {
    return this.rows.all().filter((r) => r.deletedAtMs === null);
  }

  private indexed(row: Row<GoalRecord>): Row<GoalRecord> {
    this.byGid.set(row.data.gid, row.id);
    return row;
  }
}
