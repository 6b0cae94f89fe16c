/**
 * Leads and lead labels (v1 only), keyed by UUID. Leads inherit the deal custom fields and carry
 * only the ones set, as flat hash keys. Archived leads leave GET /v1/leads (since 2025-07) and are
 * listed by /v1/leads/archived. Deletes are hard in the real API: a deleted lead or label is gone
 * at once (the row lingers invisibly until purge so ids are never reused).
 */
import type { SimClock } from '../clock.ts';
import { ACCOUNT } from './account.ts';
import type { EventJournal } from './events.ts';
import { ID_KIND, uuidFor } from './ids.ts';
import type { Row } from './table.ts';
import { JournaledTable } from './v1-base.ts';

export type Visibility = '1' | '3' | '5' | '7';

export interface LeadRecord {
  uuid: string;
  title: string;
  owner_id: number;
  creator_id: number;
  label_ids: string[];
  person_id: number | null;
  organization_id: number | null;
  source_name: string;
  origin: string;
  origin_id: string | null;
  channel: number | null;
  channel_id: string | null;
  source_deal_id: number | null;
  is_archived: boolean;
  was_seen: boolean;
  /** value = {amount, currency} when amount is set, else null. */
  amount: number | null;
  currency: string;
  expected_close_date: string | null;
  next_activity_id: number | null;
  visible_to: Visibility;
  /** Set custom field values by hash key (v1 flat values); null when none. */
  custom: Record<string, unknown> | null;
}

export type LeadChanges = Partial<Pick<LeadRecord, 'title' | 'owner_id' | 'label_ids' | 'person_id' | 'organization_id' | 'origin_id'
  | 'channel' | 'channel_id' | 'is_archived' | 'was_seen' | 'expected_close_date' | 'visible_to'>> & {
  value?: { amount: number; currency: string } | null;
  custom?: Record<string, unknown>;
};

export interface LeadLabelRecord {
  uuid: string;
  name: string;
  color: LabelColor;
}

export const LABEL_COLORS = ['blue', 'brown', 'dark-gray', 'gray', 'green', 'orange', 'pink', 'purple', 'red', 'yellow'] as const;
export type LabelColor = (typeof LABEL_COLORS)[number];

/** A table keyed by UUID on top of the numeric row ids. */
class UuidTable<T extends { uuid: string }> extends JournaledTable<T> {
  private readonly byUuid = new Map<string, number>();

  constructor(clock: SimClock, journal: EventJournal, itemType: string, private readonly kind: number) {
    super(clock, journal, itemType, (r) => r.data.uuid);
  }

  uuidOf(id: number): string {
    return uuidFor(this.kind, id);
  }

  index(row: Row<T>): Row<T> {
    this.byUuid.set(row.data.uuid, row.id);
    return row;
  }

  byId(uuid: string): Row<T> | undefined {
    const id = this.byUuid.get(uuid);
    const row = id === undefined ? undefined : this.live(id);
    if (!row && id !== undefined && !this.table.get(id)) this.byUuid.delete(uuid);
    return row;
  }
}

export class LeadStore {
  readonly rows: UuidTable<LeadRecord>;
  readonly labels: UuidTable<LeadLabelRecord>;

  constructor(clock: SimClock, journal: EventJournal, baseSec: number) {
    this.rows = new UuidTable<LeadRecord>(clock, journal, 'lead', ID_KIND.lead);
    this.labels = new UuidTable<LeadLabelRecord>(clock, journal, 'leadLabel', ID_KIND.leadLabel);
    for (const [name, color] of [['Hot', 'red'], ['Warm', 'yellow'], ['Cold', 'blue']] as const) {
      this.labels.index(this.labels.seed(baseSec, baseSec, (id) => ({ uuid: this.labels.uuidOf(id), name, color })));
    }
  }

  /** Seeded lead (generator): explicit times, no journal event. */
  seed(addSec: number, updateSec: number, build: (uuid: string) => LeadRecord): Row<LeadRecord> {
    return this.rows.index(this.rows.seed(addSec, updateSec, (id) => build(this.rows.uuidOf(id))));
  }

  create(actor: number, ch: LeadChanges & { title: string }): Row<LeadRecord> {
    const row = this.rows.add(actor, (id) => applyLead(blankLead(this.rows.uuidOf(id), ch.title, actor), ch));
    return this.rows.index(row);
  }

  update(actor: number, uuid: string, ch: LeadChanges): Row<LeadRecord> | undefined {
    const row = this.rows.byId(uuid);
    return row && this.rows.update(row, actor, applyLead(row.data, ch));
  }

  delete(actor: number, uuid: string): boolean {
    const row = this.rows.byId(uuid);
    if (!row) return false;
    this.rows.softDelete(row, actor, row.data);
    return true;
  }

  get(uuid: string): Row<LeadRecord> | undefined {
    return this.rows.byId(uuid);
  }

  addLabel(actor: number, name: string, color: LabelColor): Row<LeadLabelRecord> {
    return this.labels.index(this.labels.add(actor, (id) => ({ uuid: this.labels.uuidOf(id), name, color })));
  }

  updateLabel(actor: number, uuid: string, ch: { name?: string; color?: LabelColor }): Row<LeadLabelRecord> | undefined {
    const row = this.labels.byId(uuid);
    return row && this.labels.update(row, actor, { uuid, name: ch.name ?? row.data.name, color: ch.color ?? row.data.color });
  }

  /** Deleting a label also unlinks it from leads (a cascade: lead update times do not move). */
  deleteLabel(actor: number, uuid: string): boolean {
    const row = this.labels.byId(uuid);
    if (!row) return false;
    this.labels.softDelete(row, actor, row.data);
    for (const lead of this.rows.all()) {
      if (lead.data.label_ids.includes(uuid)) lead.data = { ...lead.data, label_ids: lead.data.label_ids.filter((l) => l !== uuid) };
    }
    return true;
  }

  /** A deleted custom field's values disappear; not an item change (no journal, times stay). */
  dropCustomField(key: string): void {
    for (const row of this.rows.all()) {
      if (!row.data.custom || !(key in row.data.custom)) continue;
      const { [key]: _dropped, ...rest } = row.data.custom;
      row.data = { ...row.data, custom: Object.keys(rest).length > 0 ? rest : null };
    }
  }

  labelList(): Row<LeadLabelRecord>[] {
    return this.labels.all().filter((r) => r.deletedAtMs === null);
  }
}

function blankLead(uuid: string, title: string, actor: number): LeadRecord {
  return {
    uuid, title, owner_id: actor, creator_id: actor, label_ids: [], person_id: null, organization_id: null,
    source_name: 'API', origin: 'API', origin_id: null, channel: null, channel_id: null, source_deal_id: null,
    is_archived: false, was_seen: false, amount: null, currency: ACCOUNT.defaultCurrency, expected_close_date: null,
    next_activity_id: null, visible_to: '3', custom: null,
  };
}

function applyLead(prev: LeadRecord, ch: LeadChanges): LeadRecord {
  const pick = <K extends keyof LeadRecord>(k: K): LeadRecord[K] => (ch[k as keyof LeadChanges] === undefined ? prev[k] : (ch[k as keyof LeadChanges] as LeadRecord[K]));
  const value = ch.value === undefined ? undefined : ch.value;
  const custom = ch.custom ? Object.fromEntries(Object.entries({ ...prev.custom, ...ch.custom }).filter(([, v]) => v !== null)) : prev.custom;
  return {
    uuid: prev.uuid, title: pick('title'), owner_id: pick('owner_id'), creator_id: prev.creator_id,
    label_ids: ch.label_ids ? [...ch.label_ids] : prev.label_ids, person_id: pick('person_id'),
    organization_id: pick('organization_id'), source_name: prev.source_name, origin: prev.origin, origin_id: pick('origin_id'),
    channel: pick('channel'), channel_id: pick('channel_id'), source_deal_id: prev.source_deal_id, is_archived: pick('is_archived'),
    was_seen: pick('was_seen'), amount: value === undefined ? prev.amount : (value?.amount ?? null),
    currency: value ? value.currency : prev.currency, expected_close_date: pick('expected_close_date'),
    next_activity_id: prev.next_activity_id, visible_to: pick('visible_to'),
    custom: custom && Object.keys(custom).length > 0 ? custom : null,
  };
}
