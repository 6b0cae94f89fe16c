/**
 * A deal's participants (persons besides its contact person): getDealParticipants (GET
 * /v1/deals/{id}/participants, offset paging, oldest first), addDealParticipant (POST, `person_id`) and
 * deleteDealParticipant (DELETE /v1/deals/{id}/participants/{deal_participant_id}). Adding or removing one
 * moves the deal's update_time (its participants_count changes; see store/deal-people.ts).
 *
 * The item follows the spec's dealParticipantItem: `person_id` is the person object v1 nests under the id
 * (its `value` the id), `person` a short person, `related_item_data` the deal. `added_by_user_id` is the
 * user's id as v1 sends it (the spec types it as a whole user response; see spec-deviations.ts). The
 * person's email/phone arrays are left empty: the contact tables carry them.
 */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { pathId, toPositiveInt } from '../../http/params.ts';
import type { ParticipantRecord } from '../../store/deal-people.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import { caller, formatV1, notFound, offsetParams, pagination, slicePage } from './common.ts';
import { COMPANY_ID } from './misc.ts';

export function presentParticipant(store: SimStore, row: Row<ParticipantRecord>): Record<string, unknown> {
  const p = row.data;
  const person = store.persons.getRow(p.person_id);
  const deal = store.deals.getRow(p.deal_id)?.data;
  const name = person?.data.name ?? '';
  const active = person !== undefined && person.deletedAtMs === null;
  return {
    id: row.id,
    person_id: { active_flag: active, name, email: [], phone: [], owner_id: person?.data.owner_id ?? 0, company_id: COMPANY_ID, value: p.person_id },
    add_time: formatV1(row.addSec),
    active_flag: row.deletedAtMs === null,
    related_item_data: { deal_id: p.deal_id, title: deal?.title ?? '' },
    person: { id: p.person_id, company_id: COMPANY_ID, active_flag: active, name, first_char: name.slice(0, 1).toLowerCase(), email: [], phone: [] },
    added_by_user_id: p.added_by_user_id,
    related_item_type: 'deal',
    related_item_id: p.deal_id,
  };
}

export function dealParticipantRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const people = store.dealPeople;
  const liveDeal = (req: express.Request): number => {
    const id = pathId(req);
    const row = store.deals.getRow(id);
    if (!row || row.deletedAtMs !== null) throw notFound('Deal');
    return id;
  };

  r.get('/deals/:id/participants', operation('getDealParticipants'), (req, res) => {
    const dealId = liveDeal(req);
    const p = offsetParams(req);
    const { items, more } = slicePage(people.participantsOf(dealId), p);
    const page = pagination(p, items.length, more);
    // The spec documents start/limit/more_items_in_collection flat in additional_data; v1 lists (and the
    // product's offset paging) read additional_data.pagination: both are sent.
    res.json({ success: true, data: items.map((row) => presentParticipant(store, row)), additional_data: { ...page, pagination: page } });
  });

  r.post('/deals/:id/participants', operation('addDealParticipant'), (req, res) => {
    const dealId = liveDeal(req);
    const raw = (req.body as Record<string, unknown> | undefined)?.['person_id'];
    if (raw === undefined || raw === null || raw === '') throw badRequest('Validation failed: person_id: Required');
    const personId = toPositiveInt(String(raw), 'person_id');
    if (!store.persons.getLive(personId)) throw notFound('Person');
    const row = people.addParticipant(dealId, personId, caller(res).userId);
    if (!row) throw badRequest('This person is already a participant of the deal');
    store.deals.touch(dealId);
    res.json({ success: true, data: presentParticipant(store, row) });
  });

  r.delete('/deals/:id/participants/:deal_participant_id', operation('deleteDealParticipant'), (req, res) => {
    const dealId = liveDeal(req);
    const id = toPositiveInt(String(req.params['deal_participant_id']), 'deal_participant_id');
    if (!people.removeParticipant(dealId, id, caller(res).userId)) throw notFound('Deal participant');
    store.deals.touch(dealId);
    res.json({ success: true, data: { id } });
  });
  return r;
}
