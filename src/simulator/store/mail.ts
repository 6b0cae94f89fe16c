/**
 * Mail threads and messages linked to deals (v1 only). Read-only through the API. Each message
 * belongs to the user whose mailbox synced it: a non-admin token sees only its own user's messages
 * (enforced by the routes), as in Pipedrive where other users' mail is private.
 */
import type { SimClock } from '../clock.ts';
import type { EventJournal } from './events.ts';
import type { Row } from './table.ts';
import { JournaledTable, type OffsetPage } from './v1-base.ts';

export interface MailParty {
  email_address: string;
  name: string;
  linked_person_id: number | null;
}

export interface MailThreadRecord {
  deal_id: number | null;
  user_id: number;
  subject: string;
}

export interface MailMessageRecord {
  mail_thread_id: number;
  deal_id: number | null;
  user_id: number;
  subject: string;
  snippet: string;
  from: MailParty;
  to: readonly MailParty[];
  cc: readonly MailParty[];
  /** Sent by the user (outgoing) rather than received. */
  sent: boolean;
  read: boolean;
  has_attachments: boolean;
  deleted: boolean;
  message_sec: number;
}

export class MailStore {
  readonly threads: JournaledTable<MailThreadRecord>;
  readonly messages: JournaledTable<MailMessageRecord>;

  constructor(clock: SimClock, journal: EventJournal) {
    this.threads = new JournaledTable<MailThreadRecord>(clock, journal, 'mailThread', undefined, null);
    this.messages = new JournaledTable<MailMessageRecord>(clock, journal, 'mailMessage', undefined, null);
  }

  /** A deal's messages visible to a viewer, newest first by message time (= add time; null viewer: all). */
  ofDeal(dealId: number, viewerUserId: number | null, start: number, limit: number): OffsetPage<MailMessageRecord> {
    return this.messages.page({
      start, limit, sortBy: 'add_time', direction: 'desc',
      filter: (r) => r.data.deal_id === dealId && (viewerUserId === null || r.data.user_id === viewerUserId),
    });
  }

  /**
   * A message synced now into a deal's thread (a new thread unless `mail_thread_id` is given): mail is
   * read-only through the API, so tests and tools write it here. Journaled like any write.
   */
  addMessage(m: Omit<MailMessageRecord, 'mail_thread_id' | 'message_sec'> & { mail_thread_id?: number }): Row<MailMessageRecord> {
    const threadId = m.mail_thread_id ?? this.threads.add(m.user_id, () => ({ deal_id: m.deal_id, user_id: m.user_id, subject: m.subject })).id;
    return this.messages.add(m.user_id, (_id, nowSec) => ({ ...m, mail_thread_id: threadId, message_sec: nowSec }));
  }

  /** Removes a message from the deal's mail (it is no longer listed). */
  removeMessage(id: number, userId: number): boolean {
    const row = this.messages.live(id);
    if (!row) return false;
    this.messages.softDelete(row, userId, { ...row.data, deleted: true });
    return true;
  }

  get(id: number): Row<MailMessageRecord> | undefined {
    return this.messages.live(id);
  }
}
