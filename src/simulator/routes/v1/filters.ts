/** v1 filters (read): getFilters, getFilter, getFilterHelpers. */
import express, { type RequestHandler, type Router } from 'express';
import { sendData } from '../../http/envelope.ts';
import { enumQuery, pathId } from '../../http/params.ts';
import { FILTER_HELPERS } from '../../store/company.ts';
import { FILTER_TYPES, type FilterRecord } from '../../store/filters.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import { formatV1, formatV1OrNull, notFound } from './common.ts';

export function presentFilter(row: Row<FilterRecord>, withConditions = false): Record<string, unknown> {
  const f = row.data;
  const out: Record<string, unknown> = {
    id: row.id, name: f.name, filter_code: null, is_editable: true, active_flag: f.active_flag, type: f.type,
    temporary_flag: f.temporary_flag, user_id: f.user_id, add_time: formatV1(row.addSec), update_time: formatV1(row.updateSec),
    visible_to: f.visible_to, last_used_time: formatV1OrNull(f.last_used_sec), custom_view_id: f.custom_view_id,
  };
  if (withConditions) out['conditions'] = f.conditions;
  return out;
}

export function filterRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const filters = store.v1.filters;

  r.get('/filters', operation('getFilters'), (req, res) => {
    const type = enumQuery(req, 'type', [...FILTER_TYPES, 'all'] as const, 'all');
    sendData(res, filters.list(type === 'all' ? undefined : type).map((f) => presentFilter(f)));
  });

  r.get('/filters/helpers', operation('getFilterHelpers'), (_req, res) => {
    sendData(res, FILTER_HELPERS);
  });

  r.get('/filters/:id', operation('getFilter'), (req, res) => {
    const row = filters.get(pathId(req));
    if (!row) throw notFound('Filter');
    sendData(res, presentFilter(row, true));
  });

  return r;
}
