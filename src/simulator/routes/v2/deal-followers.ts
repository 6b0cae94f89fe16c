/**
 * A deal's followers (users): getDealFollowers (GET /api/v2/deals/{id}/followers, cursor paging by user
 * id), addDealFollower (POST, `user_id`, 201) and deleteDealFollower (DELETE
 * /api/v2/deals/{id}/followers/{follower_id}, the follower's user id). Adding or removing one moves the
 * deal's update_time (its followers_count changes; see store/deal-people.ts).
 */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest, entityNotFound, sendData, sendList } from '../../http/envelope.ts';
import { pathId, toPositiveInt } from '../../http/params.ts';
import type { FollowerRecord } from '../../store/deal-people.ts';
import type { SimStore } from '../../store/index.ts';
import { pageSorted, type KeyOf } from '../../store/scan.ts';
import type { Row } from '../../store/table.ts';
import { formatV2 } from '../../time.ts';
import { guarded, parseBody } from './body.ts';
import { nextCursor, parseListParams } from './list-params.ts';

const presentFollower = (row: Row<FollowerRecord>) => ({ user_id: row.data.user_id, add_time: formatV2(row.addSec) });
const BY_USER: KeyOf<FollowerRecord> = (r) => r.data.user_id;

export function dealFollowerRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const people = store.dealPeople;
  const liveDeal = (req: express.Request): number => {
    const id = pathId(req);
    const row = store.deals.getRow(id);
    if (!row || row.deletedAtMs !== null) throw entityNotFound();
    return id;
  };

  r.get('/deals/:id/followers', operation('getDealFollowers'), guarded((req, res) => {
    const dealId = liveDeal(req);
    const p = parseListParams(req, ['id'], false);
    const rows = people.followersOf(dealId).sort((a, b) => a.data.user_id - b.data.user_id);
    // The cursor's position is the user id (a user follows a deal at most once).
    const keyed = rows.map((row) => ({ ...row, id: row.data.user_id }));
    const { rows: out, next } = pageSorted(keyed, BY_USER, { ...p, direction: 'asc', accept: () => true });
    sendList(res, out.map(presentFollower), nextCursor({ sortBy: 'id', direction: 'asc' }, next));
  }));

  r.post('/deals/:id/followers', operation('addDealFollower'), guarded((req, res) => {
    const dealId = liveDeal(req);
    const body = parseBody(req.body, { user_id: 'int' });
    if (body['user_id'] === undefined) throw badRequest('Validation failed: user_id: Required');
    const userId = body['user_id'] as number;
    if (!store.v1.users.get(userId)) throw badRequest(`Validation failed: user_id: User ${userId} does not exist`);
    const row = people.addFollower(dealId, userId, userId);
    if (!row) throw badRequest('Validation failed: user_id: The user already follows this deal');
    store.deals.touch(dealId);
    res.status(201);
    sendData(res, presentFollower(row));
  }));

  r.delete('/deals/:id/followers/:follower_id', operation('deleteDealFollower'), guarded((req, res) => {
    const dealId = liveDeal(req);
    const userId = toPositiveInt(String(req.params['follower_id']), 'follower_id');
    if (!people.removeFollower(dealId, userId, userId)) throw entityNotFound();
    store.deals.touch(dealId);
    sendData(res, { user_id: userId });
  }));
  return r;
}
