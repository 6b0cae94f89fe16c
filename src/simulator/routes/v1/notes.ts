/** v1 notes: getNotes, getNote, addNote, updateNote, deleteNote. */
import express, { type Request, type RequestHandler, type Router } from 'express';
import { badRequest, sendData } from '../../http/envelope.ts';
import { intQuery, pathId, queryValue, timeQuery } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import { isPinned, NOTE_LINKS, NOTE_SORTS, PIN_FLAGS, type NoteChanges, type NoteLink, type NoteRecord, type PinFlag } from '../../store/notes.ts';
import type { Row } from '../../store/table.ts';
import { isDateOnly } from '../../time.ts';
import { bodyOf, readFields, type Kind } from './body.ts';
import { caller, flagQuery, formatV1, notFound, offsetParams, parseV1Time, sendPage, sortParam } from './common.ts';
import { names, type Names } from './names.ts';

const UUID_QUERY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function presentNote(row: Row<NoteRecord>, n: Names, viewerId: number, store: SimStore): Record<string, unknown> {
  const x = row.data;
  const named = <K extends string>(key: K, value: string | null): Record<K, string> | null => (value === null ? null : ({ [key]: value } as Record<K, string>));
  const author = store.v1.users.get(x.user_id)?.data;
  const out: Record<string, unknown> = {
    id: row.id, active_flag: x.active_flag, add_time: formatV1(row.addSec), content: x.content,
    deal: named('title', n.deal(x.deal_id)), lead_id: x.lead_id, deal_id: x.deal_id, last_update_user_id: x.last_update_user_id,
    org_id: x.org_id, organization: named('name', n.org(x.org_id)), person: named('name', n.person(x.person_id)),
    person_id: x.person_id, project_id: x.project_id, project: named('title', n.project(x.project_id)),
    task_id: x.task_id, task: named('title', n.task(x.task_id)),
  };
  for (const flag of PIN_FLAGS) out[flag] = isPinned(x, flag);
  out['update_time'] = formatV1(row.updateSec);
  out['user'] = { email: author?.email ?? '', icon_url: author?.icon_url ?? null, is_you: x.user_id === viewerId, name: author?.name ?? '' };
  out['user_id'] = x.user_id;
  return out;
}

const BODY: Record<string, Kind> = {
  content: 'string', user_id: 'int', deal_id: 'int?', person_id: 'int?', org_id: 'int?', lead_id: 'uuid?', project_id: 'int?', task_id: 'int?',
};

function parseNote(store: SimStore, body: Record<string, unknown>): NoteChanges {
  const f = readFields(body, BODY) as NoteChanges;
  const pins = readFields(body, Object.fromEntries(PIN_FLAGS.map((p) => [p, 'flag'])) as Record<PinFlag, Kind>);
  if (Object.keys(pins).length > 0) f.pins = pins as Partial<Record<PinFlag, boolean>>;
  if (typeof f.deal_id === 'number' && !store.deals.get(f.deal_id)) throw badRequest('Deal not found');
  if (f.user_id !== undefined && !store.v1.users.get(f.user_id)) throw badRequest('User not found');
  if (f.content !== undefined && f.content.trim() === '') throw badRequest('Validation failed: content: Must not be empty');
  return f;
}

function listQuery(req: Request) {
  const links: Partial<Record<NoteLink, number>> = {};
  for (const k of NOTE_LINKS) {
    const v = intQuery(req, k);
    if (v !== undefined) links[k] = v;
  }
  const pins: Partial<Record<PinFlag, boolean>> = {};
  for (const f of PIN_FLAGS) {
    const v = flagQuery(req, f);
    if (v !== undefined) pins[f] = v;
  }
  const lead = queryValue(req, 'lead_id');
  if (lead !== undefined && !UUID_QUERY.test(lead)) throw badRequest('Validation failed: lead_id: Expected UUID');
  const date = (name: string): number | undefined => {
    const v = queryValue(req, name);
    if (v === undefined) return undefined;
    if (!isDateOnly(v)) throw badRequest(`Validation failed: ${name}: Expected date YYYY-MM-DD`);
    return Date.parse(`${v}T00:00:00Z`) / 1000;
  };
  const end = date('end_date');
  const since = timeQuery(req, 'updated_since');
  const sort = sortParam(req, NOTE_SORTS, 'id');
  return {
    ...offsetParams(req), sortBy: sort.field, direction: sort.direction, user_id: intQuery(req, 'user_id'), lead_id: lead, links, pins,
    fromSec: date('start_date'), toSec: end === undefined ? undefined : end + 86_400,
    sinceSec: since === undefined ? undefined : Math.ceil(since / 1000),
  };
}

export function noteRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const notes = store.v1.notes;
  const n = names(store);

  r.get('/notes', operation('getNotes'), (req, res) => {
    const q = listQuery(req);
    const { rows, more } = notes.list(q);
    const me = caller(res).userId;
    sendPage(res, rows.map((row) => presentNote(row, n, me, store)), q, more);
  });

  r.get('/notes/:id', operation('getNote'), (req, res) => {
    const row = notes.get(pathId(req));
    if (!row) throw notFound('Note');
    sendData(res, presentNote(row, n, caller(res).userId, store));
  });

  r.post('/notes', operation('addNote'), (req, res) => {
    const body = bodyOf(req);
    const ch = parseNote(store, body);
    if (ch.content === undefined) throw badRequest('Validation failed: content: Required');
    if (NOTE_LINKS.every((k) => ch[k] == null) && ch.lead_id == null) {
      throw badRequest('A note must be attached to a deal, person, organization, lead, project or task');
    }
    let addSec: number | undefined;
    if (body['add_time'] !== undefined) {
      addSec = typeof body['add_time'] === 'string' ? (parseV1Time(body['add_time']) ?? undefined) : undefined;
      if (addSec === undefined) throw badRequest('Validation failed: add_time: Expected YYYY-MM-DD HH:MM:SS');
    }
    const me = caller(res).userId;
    sendData(res, presentNote(notes.create(me, { ...ch, content: ch.content }, addSec), n, me, store));
  });

  r.put('/notes/:id', operation('updateNote'), (req, res) => {
    const me = caller(res).userId;
    const row = notes.update(me, pathId(req), parseNote(store, bodyOf(req)));
    if (!row) throw notFound('Note');
    sendData(res, presentNote(row, n, me, store));
  });

  r.delete('/notes/:id', operation('deleteNote'), (req, res) => {
    if (!notes.delete(caller(res).userId, pathId(req))) throw notFound('Note');
    sendData(res, true);
  });

  return r;
}
