/**
 * Mail linked to deals: getDealMailMessages (GET /v1/deals/{id}/mailMessages), getMailMessage
 * (GET /v1/mailbox/mailMessages/{id}) and getMailThreads (GET /v1/mailbox/mailThreads?folder=, offset).
 * Privacy: a non-admin token sees only messages of its own user's mailbox; another user's message is as
 * absent as a missing one (404). The thread list is one folder of the token user's own mailbox, admin or
 * not: `inbox` holds threads with a received message, `sent` threads with a sent one; drafts and archiving
 * are not modelled (those folders are empty). Newest last message first.
 */
import express, { type RequestHandler, type Router } from 'express';
import type { TokenUser } from '../../http/tokens.ts';
import { badRequest } from '../../http/envelope.ts';
import { enumQuery, pathId, queryValue } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import type { MailMessageRecord, MailParty, MailThreadRecord } from '../../store/mail.ts';
import type { Row } from '../../store/table.ts';
import { caller, formatIso, formatV1, notFound, offsetParams, sendPage, slicePage } from './common.ts';
import { COMPANY_ID } from './misc.ts';

const flag = (b: boolean): 0 | 1 => (b ? 1 : 0);

function party(p: MailParty, id: number): Record<string, unknown> {
  return { id, email_address: p.email_address, name: p.name, linked_person_id: p.linked_person_id, linked_person_name: p.linked_person_id === null ? '' : p.name, mail_message_party_id: id };
}

export function presentMail(row: Row<MailMessageRecord>): Record<string, unknown> {
  const m = row.data;
  const base = row.id * 10;
  return {
    id: row.id, from: [party(m.from, base)], to: m.to.map((p, i) => party(p, base + 1 + i)), cc: m.cc.map((p, i) => party(p, base + 5 + i)), bcc: [],
    body_url: `https://sim.pipedrive.com/v1/mailbox/mailMessages/${row.id}/body`, account_id: `sim-account-${m.user_id}`, user_id: m.user_id,
    mail_thread_id: m.mail_thread_id, subject: m.subject, snippet: m.snippet, mail_tracking_status: null,
    mail_link_tracking_enabled_flag: 0, read_flag: flag(m.read), draft: '', draft_flag: 0, synced_flag: 1, deleted_flag: flag(m.deleted),
    has_body_flag: 1, sent_flag: flag(m.sent), sent_from_pipedrive_flag: 0, smart_bcc_flag: 0, message_time: formatIso(m.message_sec),
    add_time: formatIso(row.addSec), update_time: formatIso(row.updateSec), has_attachments_flag: flag(m.has_attachments),
    has_inline_attachments_flag: 0, has_real_attachments_flag: flag(m.has_attachments), external_deleted_flag: false,
    item_type: 'mailMessage', timestamp: formatIso(row.updateSec), company_id: COMPANY_ID,
  };
}

/** A deal's messages the caller may see (all for an admin), newest first. */
export function visibleMail(store: SimStore, dealId: number, who: TokenUser, start = 0, limit = Number.POSITIVE_INFINITY) {
  return store.v1.mail.ofDeal(dealId, who.admin ? null : who.userId, start, limit);
}

export function mailItem(row: Row<MailMessageRecord>): Record<string, unknown> {
  return { object: 'mailMessage', timestamp: formatV1(row.data.message_sec), data: presentMail(row) };
}

const FOLDERS = ['inbox', 'drafts', 'sent', 'archive'] as const;

/** A thread of the caller's mailbox with its live messages (oldest first), as getMailThreads presents it. */
function presentThread(store: SimStore, thread: Row<MailThreadRecord>, messages: readonly Row<MailMessageRecord>[]): Record<string, unknown> {
  const t = thread.data;
  const last = messages.at(-1)!;
  const sent = messages.filter((m) => m.data.sent);
  const received = messages.filter((m) => !m.data.sent);
  const member = (p: MailParty, i: number, latestSent: boolean, sec: number) => ({
    id: thread.id * 100 + i, name: p.name, latest_sent: latestSent, email_address: p.email_address, message_time: sec * 1000,
    linked_person_id: p.linked_person_id, linked_person_name: p.linked_person_id === null ? '' : p.name, mail_message_party_id: thread.id * 100 + i, linked_organization_id: null,
  });
  const distinct = (ps: Array<[MailParty, number]>) => [...new Map(ps.map(([p, sec]) => [p.email_address, [p, sec] as const])).values()];
  const from = distinct(messages.map((m) => [m.data.from, m.data.message_sec]));
  const to = distinct(messages.flatMap((m) => m.data.to.map((p): [MailParty, number] => [p, m.data.message_sec])));
  const flag = (b: boolean): 0 | 1 => (b ? 1 : 0);
  const deal = t.deal_id === null ? undefined : store.deals.getRow(t.deal_id)?.data;
  return {
    id: thread.id, account_id: `sim-account-${t.user_id}`, user_id: t.user_id, subject: t.subject, snippet: last.data.snippet,
    read_flag: flag(messages.every((m) => m.data.read)), mail_tracking_status: 'not_tracked',
    has_attachments_flag: flag(messages.some((m) => m.data.has_attachments)), has_inline_attachments_flag: 0,
    has_real_attachments_flag: flag(messages.some((m) => m.data.has_attachments)), deleted_flag: 0, synced_flag: 1, smart_bcc_flag: 0,
    mail_link_tracking_enabled_flag: 0,
    parties: {
      from: from.map(([p, sec], i) => member(p, i, sent.length > 0 && sent.at(-1)!.data.from.email_address === p.email_address, sec)),
      to: to.map(([p, sec], i) => member(p, 50 + i, false, sec)),
    },
    drafts_parties: [], folders: [...(received.length > 0 ? ['inbox'] : []), ...(sent.length > 0 ? ['sent'] : [])], version: 1,
    snippet_draft: null, snippet_sent: sent.at(-1)?.data.snippet ?? '', message_count: messages.length, has_draft_flag: 0,
    has_sent_flag: flag(sent.length > 0), archived_flag: 0, shared_flag: 0, external_deleted_flag: 0,
    first_message_to_me_flag: flag(!messages[0]!.data.sent),
    last_message_timestamp: formatIso(last.data.message_sec), first_message_timestamp: formatIso(messages[0]!.data.message_sec),
    ...(sent.length > 0 ? { last_message_sent_timestamp: formatIso(sent.at(-1)!.data.message_sec) } : {}),
    ...(received.length > 0 ? { last_message_received_timestamp: formatIso(received.at(-1)!.data.message_sec) } : {}),
    add_time: formatIso(thread.addSec), update_time: formatIso(Math.max(thread.updateSec, last.updateSec)),
    ...(t.deal_id !== null ? { deal_id: t.deal_id, ...(deal ? { deal_status: deal.status } : {}) } : {}),
    all_messages_sent_flag: flag(received.length === 0),
  };
}

export function dealMailRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();

  r.get('/mailbox/mailThreads', operation('getMailThreads'), (req, res) => {
    if (queryValue(req, 'folder') === undefined) throw badRequest('Validation failed: folder: Required');
    const folder = enumQuery(req, 'folder', FOLDERS, 'inbox');
    const p = offsetParams(req);
    const me = caller(res).userId;
    const byThread = new Map<number, Row<MailMessageRecord>[]>();
    for (const m of store.v1.mail.messages.table.all()) {
      if (m.deletedAtMs !== null || m.data.deleted || m.data.user_id !== me) continue;
      (byThread.get(m.data.mail_thread_id) ?? byThread.set(m.data.mail_thread_id, []).get(m.data.mail_thread_id)!).push(m);
    }
    const inFolder = [...byThread].filter(([, ms]) => (folder === 'inbox' ? ms.some((m) => !m.data.sent) : folder === 'sent' ? ms.some((m) => m.data.sent) : false));
    const threads = inFolder
      .map(([id, ms]) => ({ thread: store.v1.mail.threads.getRow(id), messages: ms.sort((a, b) => a.data.message_sec - b.data.message_sec || a.id - b.id) }))
      .filter((x): x is { thread: Row<MailThreadRecord>; messages: Row<MailMessageRecord>[] } => x.thread !== undefined)
      .sort((a, b) => b.messages.at(-1)!.data.message_sec - a.messages.at(-1)!.data.message_sec || b.thread.id - a.thread.id);
    const { items, more } = slicePage(threads, p);
    sendPage(res, items.map((x) => presentThread(store, x.thread, x.messages)), p, more);
  });

  r.get('/deals/:id/mailMessages', operation('getDealMailMessages'), (req, res) => {
    const id = pathId(req);
    if (!store.deals.getRow(id)) throw notFound('Deal');
    const p = offsetParams(req);
    const { rows, more } = visibleMail(store, id, caller(res), p.start, p.limit);
    sendPage(res, rows.map(mailItem), p, more);
  });

  r.get('/mailbox/mailMessages/:id', operation('getMailMessage'), (req, res) => {
    const row = store.v1.mail.get(pathId(req));
    const me = caller(res);
    if (!row || (!me.admin && row.data.user_id !== me.userId)) throw notFound('Mail message');
    res.json({ success: true, statusCode: 2000, statusText: 'Success', service: 'email-api', data: presentMail(row) });
  });

  return r;
}
