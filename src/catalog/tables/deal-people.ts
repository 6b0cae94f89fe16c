import { defineTable } from '../types.ts';
import { liveDeals } from './shared.ts';

/**
 * DEAL_PARTICIPANT — the persons taking part in a deal besides its contact person: v1
 * `GET /v1/deals/{id}/participants` (10 tokens a page of up to 500, offset), re-imported daily, called only
 * for live deals whose participants_count is > 0 and changed since their last walk. Not in Fivetran's schema (its users ask for it; Singer's and dlt's sources read it). `person_id` is
 * the nested person object's `value`.
 */
export const dealParticipant = defineTable({
  name: 'deal_participant',
  api: 'v1',
  sync: {
    kind: 'reimport',
    list: { endpoint: '/v1/deals/{id}/participants', pagination: 'v1-offset', limit: 500, forEachParent: { list: liveDeals, idField: 'id', counters: ['participants_count'] } },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  createdField: 'add_time',
  notes: 're-imported daily; 10 tokens per deal whose participants_count changed; a participant removed (or its deal deleted/archived) is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'deal_id', type: 'long', path: '$parent.id' },
    { name: 'person_id', type: 'long', path: 'person_id.value' },
    { name: 'added_by_user_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'active_flag', type: 'boolean' },
  ],
});

/**
 * DEAL_FOLLOWER — the users following a deal: v2 `GET /api/v2/deals/{id}/followers` (10 tokens a page of up
 * to 500), re-imported daily, called only for live
 * deals whose followers_count is > 0 and changed since their last walk. A user follows a deal at most once: the key is
 * (deal_id, user_id). Not in Fivetran's schema.
 */
export const dealFollower = defineTable({
  name: 'deal_follower',
  api: 'v2',
  sync: {
    kind: 'reimport',
    list: { endpoint: '/api/v2/deals/{id}/followers', pagination: 'v2-cursor', limit: 500, forEachParent: { list: liveDeals, idField: 'id', counters: ['followers_count'] } },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['deal_id', 'user_id'],
  createdField: 'add_time',
  notes: 're-imported daily; 10 tokens per deal whose followers_count changed; an unfollow (or its deal deleted/archived) is deleted (worst case 24 h)',
  columns: [
    { name: 'deal_id', type: 'long', path: '$parent.id' },
    { name: 'user_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
  ],
});
