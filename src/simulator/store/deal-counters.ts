/**
 * The per-deal counters Pipedrive derives and returns through v2 `include_fields` (notes_count,
 * activities_count, files_count, email_messages_count, participants_count, followers_count,
 * products_count, last incoming/outgoing mail times): true counts of what the other stores hold for the
 * deal, so they move the moment a note, file, mail, activity, participant, follower or product is added
 * or removed — and the deal itself does not change (its update_time stays: Pipedrive does not document
 * that these writes touch the deal; participants and followers are the exception this simulator makes,
 * see deal-people.ts).
 *
 * Computed from the stores, not kept beside them: an index per deal is rebuilt when anything was written
 * since (the journal's generation) or seeded (the tables' sizes), so no write path can forget to update a
 * counter. A rebuild is one pass over the notes, files, mail and activities (tens of ms at 100,000 deals).
 */
import { formatV2 } from '../time.ts';
import type { SimStore } from './index.ts';

export interface DealCounters {
  readonly notes_count: number;
  readonly files_count: number;
  readonly email_messages_count: number;
  readonly activities_count: number;
  readonly done_activities_count: number;
  readonly undone_activities_count: number;
  readonly participants_count: number;
  readonly followers_count: number;
  readonly products_count: number;
  /** RFC 3339 message time of the newest received (not sent) message, or null. */
  readonly last_incoming_mail_time: string | null;
  /** RFC 3339 message time of the newest sent message, or null. */
  readonly last_outgoing_mail_time: string | null;
}

interface Tally {
  notes: number;
  files: number;
  mails: number;
  done: number;
  undone: number;
  lastInSec: number | null;
  lastOutSec: number | null;
}

export class DealCounterIndex {
  private byDeal = new Map<number, Tally>();
  private builtAt = '';

  constructor(private readonly store: SimStore) {}

  /** The deal's counters now (zero for a deal nothing refers to). */
  of(dealId: number): DealCounters {
    const t = this.tallies().get(dealId);
    const people = this.store.dealPeople;
    const done = t?.done ?? 0;
    const undone = t?.undone ?? 0;
    return {
      notes_count: t?.notes ?? 0,
      files_count: t?.files ?? 0,
      email_messages_count: t?.mails ?? 0,
      activities_count: done + undone,
      done_activities_count: done,
      undone_activities_count: undone,
      participants_count: people.participantsOf(dealId).length,
      followers_count: people.followersOf(dealId).length,
      products_count: this.store.dealProducts.ofDeals([dealId]).length,
      last_incoming_mail_time: t?.lastInSec == null ? null : formatV2(t.lastInSec),
      last_outgoing_mail_time: t?.lastOutSec == null ? null : formatV2(t.lastOutSec),
    };
  }

  private tallies(): Map<number, Tally> {
    const s = this.store;
    const { notes, files, mail } = s.v1;
    const key = [s.journal.generation, notes.rows.table.size, files.rows.table.size, mail.messages.table.size, s.activities.table.size].join(':');
    if (key === this.builtAt) return this.byDeal;
    const m = new Map<number, Tally>();
    const of = (dealId: number): Tally => {
      let t = m.get(dealId);
      if (!t) m.set(dealId, (t = { notes: 0, files: 0, mails: 0, done: 0, undone: 0, lastInSec: null, lastOutSec: null }));
      return t;
    };
    for (const r of notes.rows.all()) if (r.deletedAtMs === null && r.data.deal_id !== null) of(r.data.deal_id).notes++;
    for (const r of files.rows.all()) if (r.deletedAtMs === null && r.data.deal_id !== null) of(r.data.deal_id).files++;
    for (const r of mail.messages.all()) {
      const msg = r.data;
      if (r.deletedAtMs !== null || msg.deal_id === null) continue;
      const t = of(msg.deal_id);
      t.mails++;
      if (msg.sent) t.lastOutSec = Math.max(t.lastOutSec ?? msg.message_sec, msg.message_sec);
      else t.lastInSec = Math.max(t.lastInSec ?? msg.message_sec, msg.message_sec);
    }
    for (const r of s.activities.all()) {
      const a = r.data;
      if (r.deletedAtMs !== null || a.is_deleted || a.deal_id === null) continue;
      if (a.done) of(a.deal_id).done++;
      else of(a.deal_id).undone++;
    }
    this.byDeal = m;
    this.builtAt = key;
    return m;
  }
}
