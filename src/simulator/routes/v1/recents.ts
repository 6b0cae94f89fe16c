/**
 * GET /v1/recents (getRecents): every item changed after `since_timestamp`, oldest change first,
 * one entry per item (its current state), offset-paginated.
 *
 * Behaviour choices (the docs leave them open):
 * - `since_timestamp` is exclusive (items updated strictly after it), as observed by API users
 *   (pipedrive/client-nodejs#496); clients should overlap by a second and dedupe.
 * - The 2024-12 limit: at most one month (30 days by the sim clock) back. Like the real API, an
 *   older `since_timestamp` is not refused: the window is silently cut to 30 days. The response's
 *   `additional_data.since_timestamp` reports the cut (effective) value so a client can notice.
 * - Items in the same second sort by item type (RECENTS_ITEMS order), then id.
 * - An empty page reports last_timestamp_on_page = the effective since_timestamp.
 */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest } from '../../http/envelope.ts';
import { csvQuery, queryValue } from '../../http/params.ts';
import type { SimStore } from '../../store/index.ts';
import { caller, formatV1, offsetParams, pagination, parseV1Time } from './common.ts';
import { RecentsIndex } from './recents-index.ts';
import { RECENTS_ITEMS, recentsSources, type RecentsItem } from './recents-sources.ts';

export const RECENTS_WINDOW_SEC = 30 * 24 * 3600;

function parseItems(values: string[] | undefined): RecentsItem[] {
  if (values === undefined || values.length === 0) return [...RECENTS_ITEMS];
  for (const v of values) {
    if (!(RECENTS_ITEMS as readonly string[]).includes(v)) throw badRequest(`Validation failed: items: Must be one of ${RECENTS_ITEMS.join(', ')}`);
  }
  return RECENTS_ITEMS.filter((i) => values.includes(i));
}

export function recentsRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const index = new RecentsIndex(store, recentsSources(store), RECENTS_WINDOW_SEC);

  r.get('/recents', operation('getRecents'), (req, res) => {
    const raw = queryValue(req, 'since_timestamp');
    if (raw === undefined || raw === '') throw badRequest('Validation failed: since_timestamp: Required');
    const requested = parseV1Time(raw);
    if (requested === null) throw badRequest('Validation failed: since_timestamp: Expected format YYYY-MM-DD HH:MM:SS');
    const items = parseItems(csvQuery(req, 'items'));
    const p = offsetParams(req);
    const since = Math.max(requested, store.clock.nowSeconds() - RECENTS_WINDOW_SEC);
    const all = index.entries(since + 1, items);
    const page = all.slice(p.start, p.start + p.limit);
    const me = caller(res).userId;
    const data = page.map((e) => ({ item: e.source.item, id: e.row.id, data: e.source.present(e.row, me) }));
    const last = page[page.length - 1];
    res.json({
      success: true,
      data,
      additional_data: {
        since_timestamp: since === requested ? raw : formatV1(since),
        last_timestamp_on_page: formatV1(last ? last.sec : since),
        pagination: pagination(p, page.length, all.length > p.start + p.limit),
      },
    });
  });

  return r;
}
