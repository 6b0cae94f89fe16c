/** v2 activities: getActivities, getActivity, addActivity, updateActivity, deleteActivity. */
import type { RequestHandler, Router } from 'express';
import { intQuery, queryValue } from '../../http/params.ts';
import { presentActivity, type ActivityChanges, type Attendee, type Participant } from '../../store/activities.ts';
import type { SimStore } from '../../store/index.ts';
import { ADDRESS, CLOCK_TIME, OBJECT, parseBody, requireText, type Check, type Kind } from './body.ts';
import { entityRoutes } from './entity-routes.ts';
import { boolQuery } from './list-params.ts';
import { presenter } from './present-options.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const PARTICIPANTS: Check = (v, fail): Participant[] => {
  if (!Array.isArray(v)) throw fail('array of {person_id, primary}');
  return v.map((p) => {
    if (!isObject(p) || !Number.isSafeInteger(p['person_id'])) throw fail('array of {person_id, primary}');
    if (p['primary'] !== undefined && typeof p['primary'] !== 'boolean') throw fail('primary as a boolean');
    return { person_id: p['person_id'] as number, primary: p['primary'] === true };
  });
};

const ATTENDEES: Check = (v, fail): Attendee[] => {
  if (!Array.isArray(v)) throw fail('array of {email, name, status, is_organizer, person_id, user_id}');
  return v.map((a) => {
    if (!isObject(a) || typeof a['email'] !== 'string') throw fail('attendees with an email');
    const str = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : null);
    const id = (k: string) => (Number.isSafeInteger(a[k]) ? (a[k] as number) : null);
    return { email: a['email'], name: str('name'), status: str('status'), is_organizer: a['is_organizer'] === true, person_id: id('person_id'), user_id: id('user_id') };
  });
};

const KINDS: Record<string, Kind> = {
  subject: 'string', type: 'string', owner_id: 'int', deal_id: 'int?', lead_id: 'string?', person_id: 'int?',
  org_id: 'int?', project_id: 'int?', due_date: 'date?', due_time: CLOCK_TIME, duration: CLOCK_TIME, busy: 'bool',
  done: 'bool', location: ADDRESS, participants: PARTICIPANTS, attendees: ATTENDEES, public_description: 'string?',
  priority: 'int?', note: 'string?', custom_fields: OBJECT,
};

export function activityRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  return entityRoutes({
    path: '/activities',
    ops: { list: 'getActivities', get: 'getActivity', add: 'addActivity', update: 'updateActivity', remove: 'deleteActivity' },
    store: store.activities,
    sortFields: ['id', 'update_time', 'add_time', 'due_date'],
    timeFilters: true,
    ids: true,
    parse(body, creating) {
      const out = parseBody(body, KINDS);
      requireText(out, 'subject', false, 'Validation failed: subject: Must not be empty');
      if (creating && out['subject'] === undefined) out['subject'] = out['type'] === undefined ? 'Task' : String(out['type']);
      if (out['custom_fields']) out['custom_fields'] = store.fields.normalizeCustomFields('activity', out['custom_fields']);
      return out as ActivityChanges;
    },
    filter(req) {
      const eq = { owner_id: intQuery(req, 'owner_id'), deal_id: intQuery(req, 'deal_id'), org_id: intQuery(req, 'org_id'), person_id: intQuery(req, 'person_id') };
      const lead = queryValue(req, 'lead_id');
      const done = boolQuery(req, 'done');
      const active = Object.entries(eq).filter(([, v]) => v !== undefined) as [keyof typeof eq, number][];
      if (active.length === 0 && lead === undefined && done === undefined) return undefined;
      return (r) => active.every(([k, v]) => r.data[k] === v) && (done === undefined || r.data.done === done)
        && (lead === undefined || r.data.extra?.lead_id === lead);
    },
    // include_fields=attendees: the only optional field; presentActivity adds it, the presenter validates the name.
    present: (req) => {
      const attendees = (queryValue(req, 'include_fields') ?? '').split(',').includes('attendees');
      return presenter(req, { entity: 'activity', fields: store.fields, includes: { attendees: (a) => a['attendees'] }, customFieldParams: false },
        (row: Parameters<typeof presentActivity>[0]) => presentActivity(row, attendees));
    },
  }, operation);
}
