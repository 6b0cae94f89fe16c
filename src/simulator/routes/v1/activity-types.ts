/** v1 activity types: getActivityTypes, addActivityType, updateActivityType, deleteActivityType. */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest, sendData } from '../../http/envelope.ts';
import { pathId } from '../../http/params.ts';
import { ICON_KEYS, type ActivityTypeRecord, type IconKey } from '../../store/activity-types.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import { bodyOf, oneOf, readFields, requireFields } from './body.ts';
import { caller, formatV1, notFound } from './common.ts';

export function presentActivityType(row: Row<ActivityTypeRecord>): Record<string, unknown> {
  const t = row.data;
  return {
    id: row.id, order_nr: t.order_nr, name: t.name, key_string: t.key_string, icon_key: t.icon_key, active_flag: t.active_flag,
    color: t.color, is_custom_flag: t.is_custom_flag, add_time: formatV1(row.addSec), update_time: formatV1(row.updateSec),
  };
}

const COLOR = /^[0-9A-Fa-f]{6}$/;

function parse(body: Record<string, unknown>): { name?: string; icon_key?: IconKey; color?: string; order_nr?: number } {
  const f = readFields(body, { name: 'string', color: 'string', order_nr: 'int' });
  if (f.color !== undefined && !COLOR.test(f.color as string)) throw badRequest('Validation failed: color: Expected a 6-character HEX color');
  const icon = body['icon_key'] === undefined ? undefined : oneOf('icon_key', body['icon_key'], ICON_KEYS);
  return { name: f.name as string | undefined, color: f.color as string | undefined, order_nr: f.order_nr as number | undefined, icon_key: icon };
}

export function activityTypeRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const types = store.v1.activityTypes;

  r.get('/activityTypes', operation('getActivityTypes'), (_req, res) => {
    sendData(res, types.list().map(presentActivityType));
  });

  r.post('/activityTypes', operation('addActivityType'), (req, res) => {
    const body = bodyOf(req);
    requireFields(body, ['name', 'icon_key']);
    const ch = parse(body);
    sendData(res, presentActivityType(types.create(caller(res).userId, { ...ch, name: ch.name!, icon_key: ch.icon_key! })));
  });

  r.put('/activityTypes/:id', operation('updateActivityType'), (req, res) => {
    const row = types.update(caller(res).userId, pathId(req), parse(bodyOf(req)));
    if (!row) throw notFound('Activity type');
    sendData(res, presentActivityType(row));
  });

  r.delete('/activityTypes/:id', operation('deleteActivityType'), (req, res) => {
    const row = types.delete(caller(res).userId, pathId(req));
    if (!row) throw notFound('Activity type');
    sendData(res, presentActivityType(row));
  });

  return r;
}
