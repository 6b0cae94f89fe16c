/** v2 persons: getPersons, getPerson, addPerson, updatePerson, deletePerson. */
import type { RequestHandler, Router } from 'express';
import { intQuery } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import type { PersonChanges } from '../../store/persons.ts';
import { CONTACTS, OBJECT, VISIBILITY, parseBody, requireText, type Kind } from './body.ts';
import { entityRoutes } from './entity-routes.ts';
import { placeholders, presenter } from './present-options.ts';

const KINDS: Record<string, Kind> = {
  name: 'string', owner_id: 'int', org_id: 'int?', emails: CONTACTS, phones: CONTACTS, visible_to: VISIBILITY,
  label_ids: 'ints', custom_fields: OBJECT,
};

const INCLUDES = {
  ...placeholders(
    ['open_deals_count', 'related_open_deals_count', 'closed_deals_count', 'related_closed_deals_count',
      'participant_open_deals_count', 'participant_closed_deals_count', 'email_messages_count', 'activities_count',
      'done_activities_count', 'undone_activities_count', 'files_count', 'notes_count', 'followers_count',
      'won_deals_count', 'related_won_deals_count', 'lost_deals_count', 'related_lost_deals_count'],
    ['next_activity_id', 'last_activity_id', 'last_incoming_mail_time', 'last_outgoing_mail_time', 'marketing_status', 'doi_status'],
  ),
  smart_bcc_email: (p: Record<string, unknown>) => `person${String(p['id'])}@sim.pipedrivemail.com`,
};

export function personRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  return entityRoutes({
    path: '/persons',
    ops: { list: 'getPersons', get: 'getPerson', add: 'addPerson', update: 'updatePerson', remove: 'deletePerson' },
    store: store.persons,
    sortFields: ['id', 'update_time', 'add_time'],
    timeFilters: true,
    ids: true,
    parse(body, creating) {
      const out = parseBody(body, KINDS);
      requireText(out, 'name', creating, 'Validation failed: name: Person name must be given.');
      if (out['custom_fields']) out['custom_fields'] = store.fields.normalizeCustomFields('person', out['custom_fields']);
      return out as PersonChanges;
    },
    filter(req) {
      const owner = intQuery(req, 'owner_id');
      const org = intQuery(req, 'org_id');
      const dealId = intQuery(req, 'deal_id');
      if (owner === undefined && org === undefined && dealId === undefined) return undefined;
      // A person is linked to a deal as its contact person.
      const dealPerson = dealId === undefined ? undefined : (store.deals.get(dealId)?.person_id ?? -1);
      return (r) => (owner === undefined || r.data.owner_id === owner) && (org === undefined || r.data.org_id === org)
        && (dealPerson === undefined || r.id === dealPerson);
    },
    present: (req, op) => presenter(req, {
      entity: 'person', fields: store.fields, includes: INCLUDES, customFieldParams: op !== 'write',
    }, store.persons.model.present),
  }, operation);
}
