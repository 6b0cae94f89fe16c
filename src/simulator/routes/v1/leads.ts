/**
 * v1 leads, lead labels and lead sources: getLeads, getArchivedLeads, getLead, addLead, updateLead,
 * deleteLead, getLeadLabels, addLeadLabel, updateLeadLabel, deleteLeadLabel, getLeadSources.
 * Lead times are ISO 8601 with milliseconds; custom fields (the deal fields) are flat hash keys.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import { badRequest, sendData } from '../../http/envelope.ts';
import { intQuery, queryValue, timeQuery } from '../../http/params.ts';
import { LEAD_SOURCES } from '../../store/company.ts';
import type { SimStore } from '../../store/index.ts';
import { LABEL_COLORS, type LeadChanges, type LeadLabelRecord, type LeadRecord } from '../../store/leads.ts';
import type { Row } from '../../store/table.ts';
import { bodyOf, oneOf, readFields, requireFields } from './body.ts';
import { caller, formatIso, notFound, offsetParams, pathKey, sendPage, sortParam } from './common.ts';

const CUSTOM_KEY = /^[0-9a-f]{40}$/;
const LEAD_SORTS = ['id', 'title', 'owner_id', 'creator_id', 'was_seen', 'expected_close_date', 'next_activity_id', 'add_time', 'update_time'] as const;
const VISIBILITY = ['1', '3', '5', '7'] as const;

export function presentLead(row: Row<LeadRecord>): Record<string, unknown> {
  const l = row.data;
  return {
    id: l.uuid, title: l.title, owner_id: l.owner_id, creator_id: l.creator_id, label_ids: l.label_ids, person_id: l.person_id,
    organization_id: l.organization_id, source_name: l.source_name, origin: l.origin, origin_id: l.origin_id, channel: l.channel,
    channel_id: l.channel_id, source_deal_id: l.source_deal_id, is_archived: l.is_archived, was_seen: l.was_seen,
    value: l.amount === null ? null : { amount: l.amount, currency: l.currency }, expected_close_date: l.expected_close_date,
    next_activity_id: l.next_activity_id, add_time: formatIso(row.addSec), update_time: formatIso(row.updateSec), visible_to: l.visible_to,
    cc_email: `sim+lead${row.id}@sim.pipedrivemail.com`, ...l.custom,
  };
}

export function presentLabel(row: Row<LeadLabelRecord>): Record<string, unknown> {
  return { id: row.data.uuid, name: row.data.name, color: row.data.color, add_time: formatIso(row.addSec), update_time: formatIso(row.updateSec) };
}

function parseLead(store: SimStore, input: Record<string, unknown>): LeadChanges {
  const { value: rawValue, ...body } = input;
  const f = readFields({ ...body, value: rawValue ?? undefined }, {
    title: 'string', owner_id: 'int', label_ids: 'uuids', person_id: 'int?', organization_id: 'int?', origin_id: 'string?',
    channel: 'int?', channel_id: 'string?', is_archived: 'bool', was_seen: 'bool', expected_close_date: 'date?', value: 'object',
  }) as LeadChanges & { value?: unknown };
  if (rawValue === null) f.value = null;
  if (f.value) {
    const v = f.value as { amount?: unknown; currency?: unknown };
    if (typeof v.amount !== 'number' || typeof v.currency !== 'string') throw badRequest('Validation failed: value: Expected {amount: number, currency: string}');
  }
  if (body['visible_to'] !== undefined) f.visible_to = oneOf('visible_to', String(body['visible_to']), VISIBILITY);
  if (f.title !== undefined && f.title.trim() === '') throw badRequest('Validation failed: title: Must not be empty');
  const labels = new Set(store.v1.leads.labelList().map((l) => l.data.uuid));
  for (const id of f.label_ids ?? []) if (!labels.has(id)) throw badRequest(`Validation failed: label_ids: Unknown label ${id}`);
  // Deal custom fields by hash key; unknown keys are ignored like any unknown v1 field.
  const custom = Object.entries(body).filter(([k]) => CUSTOM_KEY.test(k) && store.fields.get('lead', k)?.isCustom === true);
  if (custom.length > 0) f.custom = Object.fromEntries(custom);
  return f as LeadChanges;
}

function leadKey(l: LeadRecord, field: Exclude<(typeof LEAD_SORTS)[number], 'add_time' | 'update_time'>): number | string | null {
  const v = field === 'id' ? l.uuid : l[field];
  return typeof v === 'boolean' ? Number(v) : v;
}

function listLeads(store: SimStore, req: Request, archived: boolean) {
  if (queryValue(req, 'filter_id') !== undefined) throw badRequest('filter_id is not supported by the simulator');
  const p = offsetParams(req);
  const sort = sortParam(req, LEAD_SORTS, 'add_time');
  const since = timeQuery(req, 'updated_since');
  const owner = intQuery(req, 'owner_id');
  const person = intQuery(req, 'person_id');
  const org = intQuery(req, 'organization_id');
  const filter = (r: Row<LeadRecord>): boolean => {
    const l = r.data;
    return l.is_archived === archived && (owner === undefined || l.owner_id === owner)
      && (person === undefined || l.person_id === person) && (org === undefined || l.organization_id === org);
  };
  const q = { ...p, direction: sort.direction, sinceSec: since === undefined ? undefined : Math.ceil(since / 1000), filter };
  const rows = store.v1.leads.rows;
  const page = sort.field === 'add_time' || sort.field === 'update_time'
    ? rows.page({ ...q, sortBy: sort.field })
    : rows.pageBy(q, (r) => leadKey(r.data, sort.field as Exclude<typeof sort.field, 'add_time' | 'update_time'>));
  return { p, page };
}

export function leadRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const leads = store.v1.leads;

  for (const [path, op, archived] of [['/leads', 'getLeads', false], ['/leads/archived', 'getArchivedLeads', true]] as const) {
    r.get(path, operation(op), (req, res) => {
      const { p, page } = listLeads(store, req, archived);
      sendPage(res, page.rows.map(presentLead), p, page.more);
    });
  }

  r.get('/leads/:id', operation('getLead'), (req, res) => {
    const row = leads.get(pathKey(req));
    if (!row) throw notFound('Lead');
    sendData(res, presentLead(row));
  });

  r.post('/leads', operation('addLead'), (req, res) => {
    const body = bodyOf(req);
    requireFields(body, ['title']);
    const ch = parseLead(store, body);
    if (ch.person_id == null && ch.organization_id == null) throw badRequest('A lead must be linked to a person or an organization or both');
    res.status(201);
    sendData(res, presentLead(leads.create(caller(res).userId, { ...ch, title: ch.title! })));
  });

  r.patch('/leads/:id', operation('updateLead'), (req, res) => {
    const row = leads.update(caller(res).userId, pathKey(req), parseLead(store, bodyOf(req)));
    if (!row) throw notFound('Lead');
    sendData(res, presentLead(row));
  });

  r.delete('/leads/:id', operation('deleteLead'), (req, res) => {
    const id = pathKey(req);
    if (!leads.delete(caller(res).userId, id)) throw notFound('Lead');
    sendData(res, { id });
  });

  r.get('/leadLabels', operation('getLeadLabels'), (_req, res) => {
    sendData(res, leads.labelList().map(presentLabel));
  });

  r.post('/leadLabels', operation('addLeadLabel'), (req, res) => {
    const body = bodyOf(req);
    requireFields(body, ['name', 'color']);
    const name = readFields(body, { name: 'string' }).name as string;
    sendData(res, presentLabel(leads.addLabel(caller(res).userId, name, oneOf('color', body['color'], LABEL_COLORS))));
  });

  r.patch('/leadLabels/:id', operation('updateLeadLabel'), (req, res) => {
    const body = bodyOf(req);
    const name = readFields(body, { name: 'string' }).name as string | undefined;
    const color = body['color'] === undefined ? undefined : oneOf('color', body['color'], LABEL_COLORS);
    const row = leads.updateLabel(caller(res).userId, pathKey(req), { name, color });
    if (!row) throw notFound('Lead label');
    sendData(res, presentLabel(row));
  });

  r.delete('/leadLabels/:id', operation('deleteLeadLabel'), (req, res) => {
    const id = pathKey(req);
    if (!leads.deleteLabel(caller(res).userId, id)) throw notFound('Lead label');
    sendData(res, { id });
  });

  r.get('/leadSources', operation('getLeadSources'), (_req, res) => {
    sendData(res, LEAD_SOURCES);
  });

  return r;
}
