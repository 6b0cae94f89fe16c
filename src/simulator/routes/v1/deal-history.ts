/**
 * A deal's history from the change journal: getDealUpdates (GET /v1/deals/{id}/flow, offset,
 * newest first) and getDealChangelog (GET /v1/deals/{id}/changelog, cursor, newest first as the
 * spec's example). Every field change of an update or delete is one entry; creation is not (the
 * real feeds list changes, not the initial values). Custom field changes appear in the flow only
 * with all_changes=1. The flow also lists the deal's notes, files and (visible) mail.
 */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { csvQuery, pathId, queryValue } from '../../http/params.ts';
import type { ChangeEvent } from '../../store/events.ts';
import type { SimStore } from '../../store/index.ts';
import { caller, formatV1, notFound, offsetParams, pagination, slicePage, V1_DEFAULT_LIMIT, V1_MAX_LIMIT } from './common.ts';
import { mailItem, visibleMail } from './deal-mail.ts';
import { v1FieldKey, v1Value } from './deal-v1.ts';
import { presentFile } from './files.ts';
import { names } from './names.ts';
import { presentNote } from './notes.ts';
import { presentUser } from './users.ts';
import { flatValue } from './v1-values.ts';

const CUSTOM_KEY = /^[0-9a-f]{40}$/;
/** Fields the journal may carry that are not user-visible changes. */
const SKIPPED: ReadonlySet<string> = new Set(['update_time', 'add_time', 'id']);

export interface DealChange {
  seq: number;
  idx: number;
  timeSec: number;
  userId: number;
  fieldKey: string;
  oldValue: unknown;
  newValue: unknown;
  custom: boolean;
}

/** The deal's field changes, newest event first (fields of one event in journal order). */
export function dealChanges(store: SimStore, dealId: number): DealChange[] {
  const type = (key: string) => store.fields.get('deal', key)?.field_type;
  const value = (key: string, v: unknown) => flatValue(key, v, type(key))[0]![1];
  const out: DealChange[] = [];
  const events = store.journal.of('deal', dealId).filter((e) => e.action !== 'add').reverse();
  for (const e of events) {
    let idx = 0;
    const push = (fieldKey: string, oldValue: unknown, newValue: unknown, custom: boolean) =>
      out.push({ seq: e.seq, idx: idx++, timeSec: Math.floor(e.timeMs / 1000), userId: e.userId, fieldKey, oldValue, newValue, custom });
    for (const c of expand(e)) {
      if (SKIPPED.has(c.field)) continue;
      const custom = CUSTOM_KEY.test(c.field);
      if (custom) push(c.field, value(c.field, c.oldValue), value(c.field, c.newValue), true);
      else push(v1FieldKey(c.field), v1Value(c.field, c.oldValue), v1Value(c.field, c.newValue), false);
    }
  }
  return out;
}

/** A whole-object custom_fields change → one change per hash key. */
function expand(e: ChangeEvent): { field: string; oldValue: unknown; newValue: unknown }[] {
  return e.changes.flatMap((c) => {
    if (c.field !== 'custom_fields') return [c];
    const before = (c.oldValue ?? {}) as Record<string, unknown>;
    const after = (c.newValue ?? {}) as Record<string, unknown>;
    return [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null))
      .map((k) => ({ field: k, oldValue: before[k] ?? null, newValue: after[k] ?? null }));
  });
}

const FLOW_OBJECTS: Record<string, string> = {
  dealChange: 'dealChange', change: 'dealChange', note: 'note', file: 'file', mailMessage: 'mailMessage', mailMessageWithAttachment: 'mailMessage',
};

function asText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function dealHistoryRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const n = names(store);

  r.get('/deals/:id/flow', operation('getDealUpdates'), (req, res) => {
    const id = pathId(req);
    const deal = store.deals.getRow(id)?.data;
    if (!deal) throw notFound('Deal');
    const p = offsetParams(req);
    const allChanges = queryValue(req, 'all_changes') === '1';
    const wanted = new Set((csvQuery(req, 'items') ?? Object.keys(FLOW_OBJECTS)).map((i) => FLOW_OBJECTS[i]).filter((x) => x !== undefined));
    const me = caller(res);
    const items: { sec: number; order: number; item: Record<string, unknown> }[] = [];
    if (wanted.has('dealChange')) {
      for (const c of dealChanges(store, id)) {
        if (c.custom && !allChanges) continue;
        items.push({ sec: c.timeSec, order: c.seq, item: { object: 'dealChange', timestamp: formatV1(c.timeSec), data: {
          id: c.seq * 1000 + c.idx, item_id: id, user_id: c.userId, field_key: c.fieldKey, old_value: c.oldValue, new_value: c.newValue,
          is_bulk_update_flag: null, log_time: formatV1(c.timeSec), change_source: 'api', change_source_user_agent: null, additional_data: [],
        } } });
      }
    }
    if (wanted.has('note')) {
      for (const row of store.v1.notes.ofDeal(id)) items.push({ sec: row.addSec, order: 0, item: { object: 'note', timestamp: formatV1(row.addSec), data: presentNote(row, n, me.userId, store) } });
    }
    if (wanted.has('file')) {
      for (const row of store.v1.files.ofDeal(id)) items.push({ sec: row.addSec, order: 0, item: { object: 'file', timestamp: formatV1(row.addSec), data: presentFile(row, n, store) } });
    }
    if (wanted.has('mailMessage')) {
      for (const row of visibleMail(store, id, me).rows) items.push({ sec: row.data.message_sec, order: 0, item: mailItem(row) });
    }
    items.sort((a, b) => b.sec - a.sec || b.order - a.order);
    const { items: page, more } = slicePage(items, p);
    const users = new Set(page.map((x) => ((x.item['data'] as Record<string, unknown>)['user_id'] as number | undefined)).filter((u): u is number => typeof u === 'number'));
    const userObjects = Object.fromEntries([...users].map((u) => store.v1.users.get(u)).filter((u) => u !== undefined).map((u) => {
      const full = presentUser(u, me.userId);
      return [u.id, { id: u.id, name: full['name'], email: full['email'], has_pic: 0, pic_hash: null, active_flag: full['active_flag'] }];
    }));
    res.json({
      success: true,
      data: page.map((x) => x.item),
      additional_data: { pagination: pagination(p, page.length, more) },
      related_objects: {
        deal: { [id]: { id, title: deal.title, status: deal.status, value: deal.value, currency: deal.currency, stage_id: deal.stage_id, pipeline_id: deal.pipeline_id } },
        user: userObjects,
      },
    });
  });

  r.get('/deals/:id/changelog', operation('getDealChangelog'), (req, res) => {
    const id = pathId(req);
    if (!store.deals.getRow(id)) throw notFound('Deal');
    const limitRaw = queryValue(req, 'limit');
    if (limitRaw !== undefined && (!/^\d+$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > V1_MAX_LIMIT)) {
      throw badRequest(`Validation failed: limit: Must be between 1 and ${V1_MAX_LIMIT}`);
    }
    const limit = limitRaw === undefined ? V1_DEFAULT_LIMIT : Number(limitRaw);
    const changes = dealChanges(store, id);
    const cursor = queryValue(req, 'cursor');
    let from = 0;
    if (cursor) {
      const pos = decodeChangelogCursor(cursor);
      from = changes.findIndex((c) => c.seq < pos.seq || (c.seq === pos.seq && c.idx >= pos.idx));
      if (from < 0) from = changes.length;
    }
    const page = changes.slice(from, from + limit);
    const next = changes[from + limit];
    res.json({
      success: true,
      data: page.map((c) => ({
        field_key: c.fieldKey, old_value: asText(c.oldValue), new_value: asText(c.newValue), actor_user_id: c.userId, time: formatV1(c.timeSec),
        change_source: 'api', change_source_user_agent: null, is_bulk_update_flag: false,
      })),
      additional_data: { next_cursor: next ? Buffer.from(JSON.stringify({ seq: next.seq, idx: next.idx })).toString('base64url') : null },
    });
  });

  return r;
}

function decodeChangelogCursor(raw: string): { seq: number; idx: number } {
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { seq?: unknown; idx?: unknown };
    if (Number.isSafeInteger(v.seq) && Number.isSafeInteger(v.idx)) return { seq: v.seq as number, idx: v.idx as number };
  } catch {
    // fall through
  }
  throw badRequest('Validation failed: cursor: Invalid cursor');
}
