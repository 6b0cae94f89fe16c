/**
 * Deals: create, update, soft delete (visible with status=deleted for 30 days, then purged) and
 * the filtered, cursor-positioned list behind GET /api/v2/deals.
 */
import type { SimClock } from '../clock.ts';
import { formatV2 } from '../time.ts';
import { applyChanges, blankDeal, makeDeal, withLocalDates, type Deal, type DealChanges, type DealStatus } from './deal-model.ts';
import { diffWithCustomFields } from './custom-diff.ts';
import { EventJournal } from './events.ts';
import { Table, type Position, type Row, type SortDirection, type SortField } from './table.ts';

export const PURGE_AFTER_MS = 30 * 24 * 3600 * 1000;

export interface DealQuery {
  sortBy: SortField;
  direction: SortDirection;
  from?: Position | undefined;
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  limit: number;
  /** Default: open, won, lost (deleted only when asked for). */
  statuses?: ReadonlySet<DealStatus> | undefined;
  /**
   * Archived deals only (GET /api/v2/deals/archived); otherwise they are left out, as Pipedrive's lists do
   * since 2025-07-15.
   */
  archived?: boolean;
  ids?: ReadonlySet<number> | undefined;
  owner_id?: number | undefined;
  person_id?: number | undefined;
  org_id?: number | undefined;
  pipeline_id?: number | undefined;
  stage_id?: number | undefined;
}

/** Bookkeeping fields that change with every write: not field changes a user made. */
const JOURNAL_IGNORED: ReadonlySet<string> = new Set(['update_time', 'local_won_date', 'local_lost_date', 'local_close_date']);

const DEFAULT_STATUSES: ReadonlySet<DealStatus> = new Set(['open', 'won', 'lost']);
const EQ_FILTERS = ['owner_id', 'person_id', 'org_id', 'pipeline_id', 'stage_id'] as const;

/**
 * Stored deals are shared with responses as they are: treat every returned Deal as read-only.
 */
export class DealStore {
  readonly table = new Table<Deal>();
  /** source_lead_id lives beside the deal: it is returned only on request. */
  private readonly sourceLeads = new Map<number, string>();

  constructor(
    private readonly clock: SimClock,
    private readonly journal: EventJournal = new EventJournal(),
    /** The user API writes are attributed to (the token's user). */
    private readonly actorUserId = 1,
  ) {}

  private record(action: 'add' | 'update' | 'delete', before: Deal | null, after: Deal): void {
    this.journal.append({ itemType: 'deal', id: after.id, action, timeMs: this.clock.nowMs(), userId: this.actorUserId, changes: diffWithCustomFields(before as never, after as never, JOURNAL_IGNORED) });
  }

  /** Create through the API path: add_time = update_time = now. */
  create(changes: DealChanges & { title: string }, origin = 'API'): Deal {
    const nowSec = this.clock.nowSeconds();
    return this.insertAt(nowSec, nowSec, changes, origin);
  }

  /** A deal with explicit add/update times, built from changes like `create` (tests, fixtures). */
  insertAt(addSec: number, updateSec: number, changes: DealChanges & { title: string }, origin = 'ManuallyCreated'): Deal {
    const deal = this.insert(addSec, updateSec, (id) => applyChanges(blankDeal(id, changes.title, addSec, origin), changes, updateSec));
    this.setSourceLead(deal.id, changes.source_lead_id);
    this.record('add', null, deal);
    return deal;
  }

  /** Insert a fully formed deal (seed generator); id, add_time and update_time are set here. */
  insert(addSec: number, updateSec: number, build: (id: number) => Deal): Deal {
    const row = this.table.insert(addSec, updateSec, (id) => {
      const d = build(id);
      d.id = id;
      d.add_time = formatV2(addSec);
      d.update_time = formatV2(updateSec);
      return withLocalDates(d);
    });
    return row.data;
  }

  sourceLeadOf(id: number): string | null {
    return this.sourceLeads.get(id) ?? null;
  }

  /** Live or soft-deleted (not yet purged) row. */
  getRow(id: number): Row<Deal> | undefined {
    this.purge();
    return this.table.get(id);
  }

  /** A deal that is not deleted, or undefined. */
  get(id: number): Deal | undefined {
    const row = this.getRow(id);
    return row && row.deletedAtMs === null ? row.data : undefined;
  }

  /** PATCH semantics; undefined when the deal does not exist or is deleted. */
  update(id: number, changes: DealChanges): Deal | undefined {
    const row = this.getRow(id);
    if (!row || row.deletedAtMs !== null) return undefined;
    const nowSec = this.clock.nowSeconds();
    const before = row.data;
    this.table.update(row, applyChanges(row.data, changes, nowSec), nowSec);
    this.setSourceLead(id, changes.source_lead_id);
    this.record('update', before, row.data);
    return row.data;
  }

  /**
   * The deal changed without a field of its own changing (a participant or follower added or removed):
   * update_time moves to now, journaled as an update with no field changes (so neither flow nor changelog
   * list it). False when absent or deleted.
   */
  touch(id: number): boolean {
    const row = this.getRow(id);
    if (!row || row.deletedAtMs !== null) return false;
    const nowSec = this.clock.nowSeconds();
    this.table.update(row, makeDeal({ ...row.data, update_time: formatV2(nowSec) }), nowSec);
    this.journal.append({ itemType: 'deal', id, action: 'update', timeMs: this.clock.nowMs(), userId: this.actorUserId, changes: [] });
    return true;
  }

  /** Soft delete: is_deleted=true, status "deleted", update_time moves. False when absent/already deleted. */
  delete(id: number): boolean {
    const row = this.getRow(id);
    if (!row || row.deletedAtMs !== null) return false;
    const nowSec = this.clock.nowSeconds();
    const data = makeDeal({ ...row.data, is_deleted: true, status: 'deleted', update_time: formatV2(nowSec) });
    const before = row.data;
    this.table.markDeleted(row, data, nowSec, this.clock.nowMs());
    this.record('delete', before, data);
    return true;
  }

  list(q: DealQuery): { deals: Deal[]; next: Position | null } {
    this.purge();
    const statuses = q.statuses ?? DEFAULT_STATUSES;
    const filter = (r: Row<Deal>): boolean => {
      const d = r.data;
      if (d.is_archived !== (q.archived === true) || !statuses.has(d.status)) return false;
      if (q.ids && !q.ids.has(d.id)) return false;
      for (const k of EQ_FILTERS) if (q[k] !== undefined && d[k] !== q[k]) return false;
      return true;
    };
    const { rows, next } = this.table.scan({ ...q, filter });
    return { deals: rows.map((r) => r.data), next };
  }

  private setSourceLead(id: number, lead: string | null | undefined): void {
    if (lead === null) this.sourceLeads.delete(id);
    else if (lead !== undefined) this.sourceLeads.set(id, lead);
  }

  /** Drop deals deleted more than 30 days ago (by the sim clock). */
  purge(): number {
    const purged = this.table.purgeDeletedBefore(this.clock.nowMs() - PURGE_AFTER_MS);
    if (purged.length > 0) for (const id of purged) this.sourceLeads.delete(id);
    return purged.length;
  }
}
