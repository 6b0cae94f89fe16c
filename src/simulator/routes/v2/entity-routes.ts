/**
 * The five routes every v2 entity has — list, get, add, update, delete — over an EntityStore, each
 * starting with operation('<operationId>'). Entity files supply the body parser, list filters and
 * presentation; everything about cursors, deleted rows and errors is here, once.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import { badRequest, entityNotFound, sendData, sendList } from '../../http/envelope.ts';
import { pathId, queryValue } from '../../http/params.ts';
import type { EntityStore } from '../../store/entity-store.ts';
import type { Row } from '../../store/table.ts';
import { guarded } from './body.ts';
import { idListQuery, nextCursor, parseListParams } from './list-params.ts';

type Obj = Record<string, unknown>;

export interface EntityRouteSpec<R, C> {
  /** e.g. '/persons' */
  path: string;
  ops: { list: string; get: string; add: string; update: string; remove: string };
  store: EntityStore<R, C>;
  sortFields: readonly string[];
  /** updated_since / updated_until (not on pipelines and stages). */
  timeFilters: boolean;
  /** Whether the list takes ids= (≤100). */
  ids: boolean;
  /** Body → changes; `creating` demands the required fields. */
  parse(body: unknown, creating: boolean): C;
  /** List filters from the query (owner_id, org_id, done, ...). */
  filter?(req: Request): ((row: Row<R>) => boolean) | undefined;
  /** The response object for this request (include_fields, custom_fields, ...). */
  present?(req: Request, op: 'list' | 'get' | 'write'): (row: Row<R>) => Obj;
  /** HTTP status of a successful add (the spec says 201 for products). */
  addStatus?: 200 | 201;
  /** Delete other than a plain soft delete (pipelines take their stages along). */
  remove?(id: number): boolean;
}

export function entityRoutes<R, C>(spec: EntityRouteSpec<R, C>, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const { store, path } = spec;
  const present = (req: Request, op: 'list' | 'get' | 'write'): ((row: Row<R>) => Obj) =>
    spec.present ? spec.present(req, op) : (row) => store.present(row);

  r.get(path, operation(spec.ops.list), guarded((req, res) => {
    if (queryValue(req, 'filter_id') !== undefined) throw badRequest('filter_id is not supported by the simulator');
    const p = parseListParams(req, spec.sortFields, spec.timeFilters);
    const show = present(req, 'list');
    const { rows, next } = store.list({
      ...p,
      ids: spec.ids ? idListQuery(req, 'ids') : undefined,
      filter: spec.filter?.(req),
    });
    sendList(res, rows.map(show), nextCursor(p, next));
  }));

  // A soft-deleted item stays readable (is_deleted: true) until it is purged.
  r.get(`${path}/:id`, operation(spec.ops.get), guarded((req, res) => {
    const show = present(req, 'get');
    const row = store.getRow(pathId(req));
    if (!row) throw entityNotFound();
    sendData(res, show(row));
  }));

  r.post(path, operation(spec.ops.add), guarded((req, res) => {
    const row = store.create(spec.parse(req.body, true));
    res.status(spec.addStatus ?? 200);
    sendData(res, present(req, 'write')(row));
  }));

  r.patch(`${path}/:id`, operation(spec.ops.update), guarded((req, res) => {
    const id = pathId(req);
    const changes = spec.parse(req.body, false);
    const row = store.update(id, changes);
    if (!row) throw entityNotFound();
    sendData(res, present(req, 'write')(row));
  }));

  r.delete(`${path}/:id`, operation(spec.ops.remove), guarded((req, res) => {
    const id = pathId(req);
    if (!(spec.remove ? spec.remove(id) : store.delete(id))) throw entityNotFound();
    sendData(res, { id });
  }));

  return r;
}
