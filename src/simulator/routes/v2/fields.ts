/**
 * v2 field catalogs: get{Deal,Person,Organization,Product,Activity}Fields (cursor) and get…Field, and
 * for deals, persons, organizations and products the writes the spec has: add…Field, update…Field,
 * delete…Field and add/update/delete…FieldOptions. Activity fields have no v2 writes (the spec has
 * none); tests create them with store.fields.add('activity', ...).
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import { badRequest, entityNotFound, sendData, sendList } from '../../http/envelope.ts';
import { csvQuery } from '../../http/params.ts';
import type { FieldDef, FieldPatch, FieldStore } from '../../store/fields.ts';
import { ADDABLE_FIELD_TYPES, type FieldEntity } from '../../store/fields-builtin.ts';
import type { SimStore } from '../../store/index.ts';
import { formatV2 } from '../../time.ts';
import { guarded, oneOf, parseBody, type Check } from './body.ts';
import { nextCursor, parseListParams } from './list-params.ts';

const ENTITIES: readonly (readonly [FieldEntity, string, boolean])[] = [
  ['deal', 'Deal', true], ['person', 'Person', true], ['organization', 'Organization', true],
  ['product', 'Product', true], ['activity', 'Activity', false],
];
const INCLUDE = ['ui_visibility', 'important_fields', 'required_fields'];

/** A field as the v2 *Fields endpoints return it. */
export function presentField(d: Readonly<FieldDef>, include: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {
    field_name: d.name, field_code: d.key, description: d.description, field_type: d.field_type,
    options: d.options?.map((o) => ({ id: o.id, label: o.label, color: o.color, add_time: formatV2(o.addSec), update_time: formatV2(o.updateSec) })) ?? null,
    subfields: d.subfields?.map((s) => ({ field_code: s.key, field_name: s.name, field_type: s.field_type })) ?? null,
    is_custom_field: d.isCustom, is_optional_response_field: d.optionalResponse,
  };
  if (include.includes('ui_visibility')) {
    out['ui_visibility'] = d.entity === 'deal'
      ? { ...d.ui, projects_detail_visible_flag: false, show_in_pipelines: { show_in_all: true, pipeline_ids: [] } }
      : { ...d.ui };
  }
  if (include.includes('important_fields')) out['important_fields'] = { ...d.important };
  if (include.includes('required_fields')) out['required_fields'] = { ...d.required };
  return out;
}

const LABELS: Check = (v, fail) => {
  if (!Array.isArray(v) || v.some((o) => typeof o !== 'object' || o === null || typeof (o as Record<string, unknown>)['label'] !== 'string')) {
    throw fail('array of {label}');
  }
  return (v as { label: string }[]).map((o) => o.label);
};
const UI: Check = (v, fail) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail('object');
  const o = v as Record<string, unknown>;
  const ui: Record<string, boolean> = {};
  for (const k of ['add_visible_flag', 'details_visible_flag']) {
    if (o[k] === undefined) continue;
    if (typeof o[k] !== 'boolean') throw fail(`${k} as a boolean`);
    ui[k] = o[k];
  }
  return ui;
};

function includeOf(req: Request): string[] {
  const inc = csvQuery(req, 'include_fields') ?? [];
  for (const f of inc) if (!INCLUDE.includes(f)) throw badRequest(`Validation failed: include_fields: Unknown field ${f}`);
  return inc;
}

/** An array body of option changes: [{label}] to add, [{id, label}] to rename, [{id}] to delete. */
function optionBody(body: unknown, needs: readonly ('id' | 'label')[]): { id: number; label: string }[] {
  if (!Array.isArray(body) || body.length === 0) throw badRequest('Request body must be a non-empty array of options');
  return body.map((o: unknown) => {
    const x = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
    if (needs.includes('id') && !Number.isSafeInteger(x['id'])) throw badRequest('Validation failed: id: Expected integer');
    if (needs.includes('label') && (typeof x['label'] !== 'string' || x['label'].trim() === '')) throw badRequest('Validation failed: label: Expected non-empty string');
    return { id: x['id'] as number, label: x['label'] as string };
  });
}

export function fieldRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  for (const [entity, Name, writable] of ENTITIES) mountEntity(r, store.fields, entity, Name, writable, operation);
  return r;
}

function mountEntity(r: Router, fields: FieldStore, entity: FieldEntity, Name: string, writable: boolean, operation: (name: string) => RequestHandler): void {
  const base = `/${entity}Fields`;
  const code = (req: Request): string => String(req.params['field_code']);

  r.get(base, operation(`get${Name}Fields`), guarded((req, res) => {
    const include = includeOf(req);
    const p = parseListParams(req, ['id'], false);
    const all = fields.list(entity);
    const start = p.from ? all.findIndex((d) => d.id >= p.from!.id) : 0;
    const rest = start < 0 ? [] : all.slice(start);
    const pageDefs = rest.slice(0, p.limit);
    const next = rest[p.limit];
    sendList(res, pageDefs.map((d) => presentField(d, include)), nextCursor(p, next ? { value: next.id, id: next.id } : null));
  }));

  r.get(`${base}/:field_code`, operation(`get${Name}Field`), guarded((req, res) => {
    const include = includeOf(req);
    const def = fields.get(entity, code(req));
    if (!def) throw entityNotFound();
    sendData(res, presentField(def, include));
  }));

  if (!writable) return;

  r.post(base, operation(`add${Name}Field`), guarded((req, res) => {
    const b = parseBody(req.body, { field_name: 'string', field_type: oneOf(ADDABLE_FIELD_TYPES), options: LABELS, description: 'string?', ui_visibility: UI });
    if (b['field_name'] === undefined) throw badRequest('Validation failed: field_name: Required');
    if (b['field_type'] === undefined) throw badRequest('Validation failed: field_type: Required');
    const def = fields.add(entity, {
      name: b['field_name'] as string, field_type: b['field_type'] as FieldDef['field_type'],
      options: b['options'] as string[] | undefined, description: b['description'] as string | null | undefined,
      ui: b['ui_visibility'] as FieldPatch['ui'],
    });
    sendData(res, presentField(def, INCLUDE));
  }));

  r.patch(`${base}/:field_code`, operation(`update${Name}Field`), guarded((req, res) => {
    const b = parseBody(req.body, { field_name: 'string', description: 'string?', ui_visibility: UI });
    if (Object.keys(b).length === 0) throw badRequest('At least one field must be provided');
    const def = fields.update(entity, code(req), {
      name: b['field_name'] as string | undefined, description: b['description'] as string | null | undefined,
      ui: b['ui_visibility'] as FieldPatch['ui'],
    });
    sendData(res, presentField(def, INCLUDE));
  }));

  r.delete(`${base}/:field_code`, operation(`delete${Name}Field`), guarded((req, res) => {
    sendData(res, presentField(fields.delete(entity, code(req))));
  }));

  const optionsReply = (res: express.Response, options: readonly { id: number; label: string }[]) =>
    res.json({ success: true, data: options.map((o) => ({ id: o.id, label: o.label })), additional_data: null });
  r.post(`${base}/:field_code/options`, operation(`add${Name}FieldOptions`), guarded((req, res) => {
    optionsReply(res, fields.addOptions(entity, code(req), optionBody(req.body, ['label']).map((o) => o.label)));
  }));
  r.patch(`${base}/:field_code/options`, operation(`update${Name}FieldOptions`), guarded((req, res) => {
    optionsReply(res, fields.updateOptions(entity, code(req), optionBody(req.body, ['id', 'label'])));
  }));
  r.delete(`${base}/:field_code/options`, operation(`delete${Name}FieldOptions`), guarded((req, res) => {
    optionsReply(res, fields.deleteOptions(entity, code(req), optionBody(req.body, ['id']).map((o) => o.id)));
  }));
}
