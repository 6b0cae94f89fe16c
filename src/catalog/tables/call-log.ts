import { defineTable } from '../types.ts';

/**
 * CALL_LOG — v1 `GET /v1/callLogs` (20 tokens a page of at most 50, offset), re-imported daily. The API
 * returns only the call logs of the token's user ("assigned to a particular user"). No creation time.
 */
export const callLog = defineTable({
  name: 'call_log',
  api: 'v1',
  sync: { kind: 'reimport', list: { endpoint: '/v1/callLogs', pagination: 'v1-offset', limit: 50 }, every: 'day' },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id'],
  notes: "re-imported daily (token user's calls only); a call log gone from the list is deleted (worst case 24 h)",
  columns: [
    { name: 'id', type: 'string' },
    { name: 'user_id', type: 'long' },
    { name: 'activity_id', type: 'long' },
    { name: 'subject', type: 'string' },
    { name: 'duration', type: 'string' },
    { name: 'outcome', type: 'string' },
    { name: 'from_phone_number', type: 'string' },
    { name: 'to_phone_number', type: 'string' },
    { name: 'start_time', type: 'timestamp' },
    { name: 'end_time', type: 'timestamp' },
    { name: 'person_id', type: 'long' },
    { name: 'org_id', type: 'long' },
    { name: 'deal_id', type: 'long' },
    { name: 'lead_id', type: 'string' },
    { name: 'note', type: 'string' },
    { name: 'has_recording', type: 'boolean' },
    { name: 'company_id', type: 'long' },
  ],
});
