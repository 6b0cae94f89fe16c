/** v1 call logs and currencies: getUserCallLogs, getCallLog, getCurrencies. */
import express, { type RequestHandler, type Router } from 'express';
import { ApiError, errorBody, sendData } from '../../http/envelope.ts';
import { queryValue } from '../../http/params.ts';
import type { CallLogRecord } from '../../store/call-logs.ts';
import { CURRENCIES } from '../../store/company.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import { caller, formatIso, offsetParams, pathKey, sendPage } from './common.ts';

export const CALL_LOGS_MAX_LIMIT = 50;
/** One simulated company. */
export const COMPANY_ID = 1;

export function presentCallLog(row: Row<CallLogRecord>): Record<string, unknown> {
  const c = row.data;
  return {
    id: c.cid, activity_id: c.activity_id, person_id: c.person_id, org_id: c.org_id, deal_id: c.deal_id, lead_id: c.lead_id,
    subject: c.subject, duration: c.duration, outcome: c.outcome, from_phone_number: c.from_phone_number, to_phone_number: c.to_phone_number,
    has_recording: c.has_recording, start_time: formatIso(c.start_sec), end_time: formatIso(c.end_sec), user_id: c.user_id,
    company_id: COMPANY_ID, note: c.note,
  };
}

export function miscRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();

  r.get('/callLogs', operation('getUserCallLogs'), (req, res) => {
    const p = offsetParams(req, CALL_LOGS_MAX_LIMIT);
    const { rows, more } = store.v1.callLogs.listForUser(caller(res).userId, p.start, p.limit);
    sendPage(res, rows.map(presentCallLog), p, more);
  });

  r.get('/callLogs/:id', operation('getCallLog'), (req, res) => {
    const row = store.v1.callLogs.get(pathKey(req));
    const me = caller(res);
    // Another user's call is as invisible to a non-admin as a missing one.
    if (!row || (!me.admin && row.data.user_id !== me.userId)) {
      throw new ApiError(404, 'Call log not found', errorBody('Call log not found', 'Object was not found.'));
    }
    sendData(res, presentCallLog(row));
  });

  r.get('/currencies', operation('getCurrencies'), (req, res) => {
    const term = queryValue(req, 'term')?.toLowerCase();
    sendData(res, CURRENCIES.filter((c) => !term || c.code.toLowerCase().includes(term) || c.name.toLowerCase().includes(term)));
  });

  return r;
}
