/**
 * Mail linked to deals: getDealMailMessages (GET /v1/deals/{id}/mailMessages) and getMailMessage
 * (GET /v1/mailbox/mailMessages/{id}). Privacy: a non-admin token sees only messages of its own
 * user's mailbox; another user's message is as absent as a missing one (404).
 */
import express, { type RequestHandler, type Router } from 'express';
import type { TokenUser } from '../../http/tokens.ts';
import { pathId } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import type { MailMessageRecord, MailParty } from '../../store/mail.ts';
import type { Row } from '../../store/table.ts';
import { caller, formatIso, formatV1, notFound, offsetParams, sendPage } from './common.ts';
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

export function dealMailRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();

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
