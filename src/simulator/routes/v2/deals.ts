/** v2 deal routes: getDeals, getArchivedDeals, getDeal, addDeal, updateDeal, deleteDeal. */
import express, { type RequestHandler, type Router } from 'express';
import { DEAL_STATUSES, type DealStatus } from '../../store/deal-model.ts';
import type { SimStore } from '../../store/index.ts';
import type { SortDirection, SortField } from '../../store/table.ts';
import { badRequest, entityNotFound, sendData, sendList } from '../../http/envelope.ts';
import { decodeCursor, encodeCursor, parseLimit } from '../../http/pagination.ts';
import { csvQuery, enumQuery, intQuery, pathId, queryValue, timeQuery, toPositiveInt } from '../../http/params.ts';
import { parseDealBody } from './deal-body.ts';
import { parsePresentOptions, presentDeal } from './deal-present.ts';

const SORT_FIELDS: readonly SortField[] = ['id', 'update_time', 'add_time'];
const DIRECTIONS: readonly SortDirection[] = ['asc', 'desc'];
const MAX_IDS = 100;

export function dealRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const deals = store.deals;
  const extrasOf = (id: number) => ({ sourceLeadId: deals.sourceLeadOf(id), counters: () => store.dealCounters.of(id) });

  // Archived deals have a list of their own (and cost twice as much); the route goes before /deals/:id.
  r.get('/deals/archived', operation('getArchivedDeals'), (req, res) => listDeals(req, res, true));
  r.get('/deals', operation('getDeals'), (req, res) => listDeals(req, res, false));

  const listDeals = (req: express.Request, res: express.Response, archived: boolean) => {
    if (queryValue(req, 'filter_id') !== undefined) throw badRequest('filter_id is not supported by the simulator');
    const sortBy = enumQuery(req, 'sort_by', SORT_FIELDS, 'id');
    const direction = enumQuery(req, 'sort_direction', DIRECTIONS, 'asc');
    const limit = parseLimit(req);
    const cursor = queryValue(req, 'cursor');
    const present = parsePresentOptions(csvQuery(req, 'include_fields'), csvQuery(req, 'custom_fields'));
    const { deals: page, next } = deals.list({
      sortBy,
      direction,
      limit,
      from: cursor ? decodeCursor(cursor, sortBy, direction) : undefined,
      sinceMs: timeQuery(req, 'updated_since'),
      untilMs: timeQuery(req, 'updated_until'),
      statuses: parseStatuses(csvQuery(req, 'status')),
      ids: parseIds(csvQuery(req, 'ids')),
      owner_id: intQuery(req, 'owner_id'),
      person_id: intQuery(req, 'person_id'),
      org_id: intQuery(req, 'org_id'),
      pipeline_id: intQuery(req, 'pipeline_id'),
      stage_id: intQuery(req, 'stage_id'),
      archived,
    });
    sendList(res, page.map((d) => presentDeal(d, present, extrasOf(d.id))), next && encodeCursor(sortBy, direction, next));
  };

  r.get('/deals/:id', operation('getDeal'), (req, res) => {
    const present = parsePresentOptions(csvQuery(req, 'include_fields'), csvQuery(req, 'custom_fields'));
    // A soft-deleted deal stays readable (is_deleted: true) until it is purged after 30 days.
    const row = deals.getRow(pathId(req));
    if (!row || row.data.is_archived) throw entityNotFound();
    sendData(res, presentDeal(row.data, present, extrasOf(row.id)));
  });

  r.post('/deals', operation('addDeal'), (req, res) => {
    const { changes, isDeleted } = parseDealBody(req.body, { requireTitle: true });
    const created = deals.create({ ...changes, title: changes.title! });
    if (isDeleted) deals.delete(created.id);
    sendData(res, presentDeal(deals.getRow(created.id)!.data));
  });

  r.patch('/deals/:id', operation('updateDeal'), (req, res) => {
    const id = pathId(req);
    const { changes, isDeleted } = parseDealBody(req.body, { requireTitle: false });
    if (!deals.update(id, changes)) throw entityNotFound();
    if (isDeleted) deals.delete(id);
    sendData(res, presentDeal(deals.getRow(id)!.data));
  });

  r.delete('/deals/:id', operation('deleteDeal'), (req, res) => {
    const id = pathId(req);
    if (!deals.delete(id)) throw entityNotFound();
    sendData(res, { id });
  });

  return r;
}

function parseStatuses(values: string[] | undefined): Set<DealStatus> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  for (const v of values) {
    if (!(DEAL_STATUSES as readonly string[]).includes(v)) {
      throw badRequest(`Validation failed: status: Must be one of ${DEAL_STATUSES.join(', ')}`);
    }
  }
  return new Set(values as DealStatus[]);
}

function parseIds(values: string[] | undefined): Set<number> | undefined {
  if (values === undefined) return undefined;
  if (values.length > MAX_IDS) throw badRequest(`Validation failed: ids: At most ${MAX_IDS} ids are allowed`);
  return new Set(values.map((v) => toPositiveInt(v, 'ids')));
}
