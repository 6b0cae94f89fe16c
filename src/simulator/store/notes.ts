/**
 * Notes (v1 only): HTML content attached to deals, persons, organizations, leads, projects or tasks.
 * Delete is soft (active_flag false, visible in recents, purged after 30 days); deleted notes leave
 * the list. Records are compact (pin flags in one bitmask) since an account holds many notes.
 */
import type { SimClock } from '../clock.ts';
import type { EventJournal } from './events.ts';
import type { Row, SortDirection, SortField } from './table.ts';
import { JournaledTable, type OffsetPage } from './v1-base.ts';

export const PIN_FLAGS = ['pinned_to_lead_flag', 'pinned_to_deal_flag', 'pinned_to_organization_flag', 'pinned_to_person_flag', 'pinned_to_project_flag', 'pinned_to_task_flag'] as const;
export type PinFlag = (typeof PIN_FLAGS)[number];

export const NOTE_LINKS = ['deal_id', 'person_id', 'org_id', 'project_id', 'task_id'] as const;
export type NoteLink = (typeof NOTE_LINKS)[number];

export interface NoteRecord {
  content: string;
  user_id: number;
  last_update_user_id: number;
  deal_id: number | null;
  person_id: number | null;
  org_id: number | null;
  lead_id: string | null;
  project_id: number | null;
  task_id: number | null;
  /** Bit i set ⇔ PIN_FLAGS[i] is true. */
  pinned: number;
  active_flag: boolean;
}

export interface NoteChanges {
  content?: string;
  user_id?: number;
  deal_id?: number | null;
  person_id?: number | null;
  org_id?: number | null;
  lead_id?: string | null;
  project_id?: number | null;
  task_id?: number | null;
  pins?: Partial<Record<PinFlag, boolean>>;
}

export const NOTE_SORTS = ['id', 'user_id', 'deal_id', 'person_id', 'org_id', 'content', 'add_time', 'update_time'] as const;
export type NoteSort = (typeof NOTE_SORTS)[number];
const TABLE_SORTS: readonly string[] = ['id', 'add_time', 'update_time'];

export interface NoteQuery {
  start: number;
  limit: number;
  sortBy: NoteSort;
  direction: SortDirection;
  sinceSec?: number | undefined;
  user_id?: number | undefined;
  lead_id?: string | undefined;
  links?: Partial<Record<NoteLink, number>>;
  pins?: Partial<Record<PinFlag, boolean>>;
  /** add_time within [fromSec, toSec). */
  fromSec?: number | undefined;
  toSec?: number | undefined;
}

export function isPinned(rec: NoteRecord, flag: PinFlag): boolean {
  return (rec.pinned & (1 << PIN_FLAGS.indexOf(flag))) !== 0;
}

function withPins(mask: number, pins: Partial<Record<PinFlag, boolean>> | undefined): number {
  for (const [flag, on] of Object.entries(pins ?? {})) {
    const bit = 1 << PIN_FLAGS.indexOf(flag as PinFlag);
    mask = on ? mask | bit : mask & ~bit;
  }
  return mask;
}

export class NoteStore {
  readonly rows: JournaledTable<NoteRecord>;

  constructor(clock: SimClock, journal: EventJournal) {
    this.rows = new JournaledTable<NoteRecord>(clock, journal, 'note');
  }

  create(actor: number, ch: NoteChanges & { content: string }, addSec?: number): Row<NoteRecord> {
    return this.rows.add(actor, () => applyNote(blankNote(ch.user_id ?? actor), ch, actor), addSec);
  }

  update(actor: number, id: number, ch: NoteChanges): Row<NoteRecord> | undefined {
    const row = this.rows.live(id);
    return row && this.rows.update(row, actor, applyNote(row.data, ch, actor));
  }

  delete(actor: number, id: number): boolean {
    const row = this.rows.live(id);
    if (!row) return false;
    this.rows.softDelete(row, actor, { ...row.data, active_flag: false, last_update_user_id: actor });
    return true;
  }

  /** Live or deleted (until purged). */
  get(id: number): Row<NoteRecord> | undefined {
    return this.rows.getRow(id);
  }

  list(q: NoteQuery): OffsetPage<NoteRecord> {
    const filter = (r: Row<NoteRecord>): boolean => {
      const n = r.data;
      if (q.user_id !== undefined && n.user_id !== q.user_id) return false;
      if (q.lead_id !== undefined && n.lead_id !== q.lead_id) return false;
      for (const [k, v] of Object.entries(q.links ?? {})) if (n[k as NoteLink] !== v) return false;
      for (const [k, v] of Object.entries(q.pins ?? {})) if (isPinned(n, k as PinFlag) !== v) return false;
      if (q.fromSec !== undefined && r.addSec < q.fromSec) return false;
      return q.toSec === undefined || r.addSec < q.toSec;
    };
    if (TABLE_SORTS.includes(q.sortBy)) return this.rows.page({ ...q, sortBy: q.sortBy as SortField, filter });
    const field = q.sortBy as Exclude<NoteSort, 'id' | 'add_time' | 'update_time'>;
    return this.rows.pageBy({ ...q, sortBy: undefined, filter }, (r) => r.data[field]);
  }

  /** Live notes of one deal (flow). */
  ofDeal(dealId: number): Row<NoteRecord>[] {
    return this.rows.all().filter((r) => r.deletedAtMs === null && r.data.deal_id === dealId);
  }
}

function blankNote(userId: number): NoteRecord {
  return { content: '', user_id: userId, last_update_user_id: userId, deal_id: null, person_id: null, org_id: null, lead_id: null, project_id: null, task_id: null, pinned: 0, active_flag: true };
}

/** One literal in field order (compact, stable shape). */
function applyNote(prev: NoteRecord, ch: NoteChanges, actor: number): NoteRecord {
  return {
    content: ch.content ?? prev.content,
    user_id: ch.user_id ?? prev.user_id,
    last_update_user_id: actor,
    deal_id: ch.deal_id === undefined ? prev.deal_id : ch.deal_id,
    person_id: ch.person_id === undefined ? prev.person_id : ch.person_id,
    org_id: ch.org_id === undefined ? prev.org_id : ch.org_id,
    lead_id: ch.lead_id === undefined ? prev.lead_id : ch.lead_id,
    project_id: ch.project_id === undefined ? prev.project_id : ch.project_id,
    task_id: ch.task_id === undefined ? prev.task_id : ch.task_id,
    pinned: withPins(prev.pinned, ch.pins),
    active_flag: prev.active_flag,
  };
}
