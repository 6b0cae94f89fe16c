import { defineTable, type ListSpec } from '../types.ts';
import { MAIL_COUNTERS, liveDeals } from './shared.ts';

/**
 * The mail of the live deals: v1 `GET /v1/deals/{id}/mailMessages` (20 tokens a page per deal, offset),
 * called only for deals with mail (email_messages_count > 0) whose count or last mail times changed since
 * their last walk; one walk feeds MAIL_MESSAGE and MAIL_THREAD (same endpoint and counters: the second
 * table takes the first's answers, src/pipedrive/shared-walk.ts). Each listed item is a wrapper
 * `{object: "mailMessage", timestamp, data: {…message…}}`; the columns below read the message (`data`),
 * the wrapper being `$item`. Only mail the token's user may see is listed.
 */
const dealMail: ListSpec = {
  endpoint: '/v1/deals/{id}/mailMessages',
  pagination: 'v1-offset',
  limit: 500,
  itemPath: 'data',
  forEachParent: { list: liveDeals, idField: 'id', counters: MAIL_COUNTERS },
};

/**
 * MAIL_MESSAGE — the messages of every live deal, re-imported daily. Flags are 0/1 numbers. The sender
 * (`from[0]`) is flattened as Fivetran does; `to`/`cc`/`bcc` fan out to EMAIL_TO / EMAIL_CC / EMAIL_BCC.
 */
export const mailMessage = defineTable({
  name: 'mail_message',
  api: 'v1',
  sync: { kind: 'reimport', list: dealMail, every: 'day' },
  deletes: [{ kind: 'vanish' }, { kind: 'flag', field: 'deleted_flag', value: 1 }],
  primaryKey: ['id'],
  createdField: 'add_time',
  children: [
    { table: 'email_to', from: 'to' },
    { table: 'email_cc', from: 'cc' },
    { table: 'email_bcc', from: 'bcc' },
  ],
  notes: 're-imported daily; 20 tokens per deal whose mail count or last mail times changed; gone or deleted_flag=1 is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'from_email_address', type: 'string', path: 'from.0.email_address' },
    { name: 'from_name', type: 'string', path: 'from.0.name' },
    { name: 'from_linked_person_id', type: 'long', path: 'from.0.linked_person_id' },
    { name: 'body_url', type: 'string' },
    { name: 'account_id', type: 'string' },
    { name: 'user_id', type: 'long' },
    { name: 'mail_thread_id', type: 'long' },
    { name: 'subject', type: 'string' },
    { name: 'snippet', type: 'string' },
    { name: 'mail_tracking_status', type: 'string' },
    { name: 'mail_link_tracking_enabled_flag', type: 'long' },
    { name: 'read_flag', type: 'long' },
    { name: 'draft', type: 'string' },
    { name: 'draft_flag', type: 'long' },
    { name: 'synced_flag', type: 'long' },
    { name: 'deleted_flag', type: 'long' },
    { name: 'external_deleted_flag', type: 'boolean' },
    { name: 'has_body_flag', type: 'long' },
    { name: 'sent_flag', type: 'long' },
    { name: 'sent_from_pipedrive_flag', type: 'long' },
    { name: 'smart_bcc_flag', type: 'long' },
    { name: 'has_attachments_flag', type: 'long' },
    { name: 'has_inline_attachments_flag', type: 'long' },
    { name: 'has_real_attachments_flag', type: 'long' },
    { name: 'message_time', type: 'timestamp' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'timestamp', type: 'timestamp' },
    { name: 'nylas_id', type: 'string' },
    { name: 's3_bucket', type: 'string' },
    { name: 's3_bucket_path', type: 'string' },
    { name: 'mua_message_id', type: 'string' },
    { name: 'template_id', type: 'long' },
    { name: 'item_type', type: 'string' },
    { name: 'company_id', type: 'long' },
  ],
});

/**
 * MAIL_THREAD — Fivetran's (id, deal_id): each message's `mail_thread_id` with the deal it was listed
 * under, from the same per-deal mail list (messages of one thread collapse into one row). The thread
 * endpoints are no alternative: `/v1/mailbox/mailThreads` lists one folder of the token user's mailbox per
 * call, `/v1/mailbox/mailThreads/{id}` costs 20 tokens per thread.
 */
export const mailThread = defineTable({
  name: 'mail_thread',
  api: 'v1',
  sync: { kind: 'reimport', list: dealMail, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  notes: 're-imported daily with the deal mail; a thread with no message left is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long', path: 'mail_thread_id' },
    { name: 'deal_id', type: 'long', path: '$parent.id' },
  ],
});

/** One recipient list of a mail message (`to`, `cc` or `bcc`): parties {id, email_address, name, linked_person_id, …}. */
function recipients<const N extends string>(name: N, field: string) {
  return defineTable({
    name,
    api: 'v1',
    sync: { kind: 'child', parent: 'mail_message' },
    deletes: [{ kind: 'with-parent' }],
    primaryKey: ['id', 'mail_message_id'],
    notes: `the message's \`${field}\` parties, replaced with every message import; worst case 24 h`,
    columns: [
      { name: 'mail_message_id', type: 'long', path: '$parent.id' },
      { name: 'id', type: 'long' },
      { name: 'email_address', type: 'string' },
      { name: 'name', type: 'string' },
      { name: 'linked_person_id', type: 'long' },
      { name: 'mail_message_party_id', type: 'long' },
    ],
  });
}

/** EMAIL_TO — the message's `to[]` recipients. */
export const emailTo = recipients('email_to', 'to');
/** EMAIL_CC — the message's `cc[]` recipients. */
export const emailCc = recipients('email_cc', 'cc');
/** EMAIL_BCC — the message's `bcc[]` recipients. */
export const emailBcc = recipients('email_bcc', 'bcc');
