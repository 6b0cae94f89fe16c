/** v2 organizations: getOrganizations, getOrganization, addOrganization, updateOrganization, deleteOrganization. */
import type { RequestHandler, Router } from 'express';
import { intQuery } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import type { OrganizationChanges } from '../../store/organizations.ts';
import { ADDRESS, OBJECT, VISIBILITY, parseBody, requireText, type Kind } from './body.ts';
import { entityRoutes } from './entity-routes.ts';
import { placeholders, presenter } from './present-options.ts';

const KINDS: Record<string, Kind> = {
  name: 'string', owner_id: 'int', visible_to: VISIBILITY, label_ids: 'ints', address: ADDRESS, custom_fields: OBJECT,
};

const INCLUDES = {
  ...placeholders(
    ['open_deals_count', 'related_open_deals_count', 'closed_deals_count', 'related_closed_deals_count',
      'email_messages_count', 'people_count', 'activities_count', 'done_activities_count', 'undone_activities_count',
      'files_count', 'notes_count', 'followers_count', 'won_deals_count', 'related_won_deals_count', 'lost_deals_count',
      'related_lost_deals_count'],
    ['next_activity_id', 'last_activity_id'],
  ),
  smart_bcc_email: (o: Record<string, unknown>) => `org${String(o['id'])}@sim.pipedrivemail.com`,
};

export function organizationRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  return entityRoutes({
    path: '/organizations',
    ops: { list: 'getOrganizations', get: 'getOrganization', add: 'addOrganization', update: 'updateOrganization', remove: 'deleteOrganization' },
    store: store.organizations,
    sortFields: ['id', 'update_time', 'add_time'],
    timeFilters: true,
    ids: true,
    parse(body, creating) {
      const out = parseBody(body, KINDS);
      requireText(out, 'name', creating, 'Validation failed: name: Organization name must be given.');
      if (out['custom_fields']) out['custom_fields'] = store.fields.normalizeCustomFields('organization', out['custom_fields']);
      return out as OrganizationChanges;
    },
    filter(req) {
      const owner = intQuery(req, 'owner_id');
      return owner === undefined ? undefined : (r) => r.data.owner_id === owner;
    },
    present: (req, op) => presenter(req, {
      entity: 'organization', fields: store.fields, includes: INCLUDES, customFieldParams: op !== 'write',
    }, store.organizations.model.present),
  }, operation);
}
