/**
 * Pipedrive's official v1 OpenAPI spec for conformance checks: load, convert (see spec.ts), compile
 * response schemas, and apply the v1 deviations from spec-deviations.ts — each names the schema
 * location it relaxes, so a deviation that no longer matches the spec fails loudly.
 */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import { parse } from 'yaml';
import { OPENAPI_V1_PATH } from '../../spec/paths.ts';
import { toJsonSchema, type Validator } from './spec.ts';

export const SPEC_V1_PATH = OPENAPI_V1_PATH;
const SPEC_ID = 'pipedrive-v1';

type Json = Record<string, unknown>;
let cached: { doc: Json; ajv: InstanceType<typeof AjvModule.default> } | undefined;

function load(): { doc: Json; ajv: InstanceType<typeof AjvModule.default> } {
  if (cached) return cached;
  const doc = toJsonSchema(parse(readFileSync(SPEC_V1_PATH, 'utf8'))) as Json;
  const mod: unknown = AjvModule;
  const Ajv = ((mod as { default?: unknown }).default ?? mod) as typeof AjvModule.default;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  const isDate = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));
  ajv.addFormat('date', isDate);
  ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s));
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('binary', () => true);
  ajv.addSchema(doc, SPEC_ID);
  cached = { doc, ajv };
  return cached;
}

export function v1ResponseSchema(operationId: string, status = '200'): Json {
  const paths = load().doc['paths'] as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      if (op?.['operationId'] !== operationId) continue;
      const content = deref((op['responses'] as Record<string, Json>)[status] ?? {})['content'] as Json | undefined;
      const schema = (content?.['application/json'] as Json | undefined)?.['schema'] as Json | undefined;
      if (!schema) throw new Error(`${operationId} has no ${status} JSON response schema`);
      return schema;
    }
  }
  throw new Error(`operationId not in the v1 spec: ${operationId}`);
}

/** The JSON request body schema of an operation (e.g. addWebhook's addWebhookRequest). */
export function v1RequestSchema(operationId: string): Json {
  const paths = load().doc['paths'] as Record<string, Record<string, Json>>;
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      if (op?.['operationId'] !== operationId) continue;
      const content = deref((op['requestBody'] as Json | undefined) ?? {})['content'] as Json | undefined;
      const schema = (content?.['application/json'] as Json | undefined)?.['schema'] as Json | undefined;
      if (!schema) throw new Error(`${operationId} has no JSON request body schema`);
      return schema;
    }
  }
  throw new Error(`operationId not in the v1 spec: ${operationId}`);
}

/** Inline a `$ref` (one level) so the node can be patched without touching the shared component. */
function deref(node: Json): Json {
  let n = node;
  while (typeof n['$ref'] === 'string') {
    n = (n['$ref'] as string).slice(2).split('/').reduce<Json>((o, k) => o[k] as Json, load().doc);
  }
  return n === node ? node : (structuredClone(n) as Json);
}

/** The object schemas a path names: `a.b` properties, `x[]` array items, `x@deal` the anyOf branch whose `item` is deal. */
export function locate(root: Json, path: string): Json[] {
  let nodes: Json[] = [root];
  for (const seg of path === '' ? [] : path.split('.')) {
    const [, name, arr, item] = /^([^[@]*)(\[\])?(?:@(.+))?$/.exec(seg)!;
    nodes = nodes.flatMap((n) => {
      let next = name === '' ? [n] : propertyHolders(n, name!).map((h) => materialize(h, name!));
      if (arr) next = next.map((x) => materialize(x, 'items'));
      if (item) next = next.flatMap((x) => ((x['anyOf'] as Json[] | undefined) ?? []).map((b, i, all) => (all[i] = deref(b))).filter((b) => {
        const e = ((b['properties'] as Json | undefined)?.['item'] as Json | undefined)?.['enum'] as unknown[] | undefined;
        return e?.includes(item);
      }));
      return next;
    });
    if (nodes.length === 0) throw new Error(`deviation path ${path}: nothing at ${seg}`);
  }
  return nodes;
}

/** Object schemas (the node or its allOf parts) that declare `name` as a property. */
export function propertyHolders(node: Json, name: string): Json[] {
  const parts = (node['allOf'] as Json[] | undefined) ?? [];
  parts.forEach((p, i) => (parts[i] = deref(p)));
  const own = (node['properties'] as Json | undefined)?.[name] !== undefined ? [node] : [];
  return [...own, ...parts.flatMap((p) => propertyHolders(p, name))];
}

/** Replace holder.properties[name] (or holder.items) by a dereferenced copy and return it. */
function materialize(holder: Json, name: string): Json {
  const slot = name === 'items' ? holder : (holder['properties'] as Json);
  const child = deref(slot[name] as Json);
  slot[name] = child;
  return child;
}

export type Relax = 'nullable' | 'any-format' | 'any-enum' | 'array-of' | 'wrapped' | 'integer';

/** Relax property `field` of every holder at `path` (or the whole schema for `wrapped`). */
export function relax(schema: Json, path: string, field: string, how: Relax): Json {
  if (how === 'wrapped') return { type: 'object', properties: { success: { type: 'boolean' }, data: schema } };
  const targets = locate(schema, path).flatMap((n) => propertyHolders(n, field));
  if (targets.length === 0) throw new Error(`deviation ${path}.${field}: the schema has no such field`);
  for (const t of targets) {
    const props = t['properties'] as Json;
    const p = deref(props[field] as Json);
    if (how === 'nullable') props[field] = { anyOf: [p, { type: 'null' }] };
    else if (how === 'any-format') props[field] = without(p, 'format');
    else if (how === 'any-enum') props[field] = without(p, 'enum');
    else if (how === 'integer') props[field] = { type: 'integer' };
    else props[field] = { type: 'array', items: p };
  }
  return schema;
}

export function compileV1(schema: Json): Validator {
  const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', `"$ref":"${SPEC_ID}#/`)) as Json;
  return load().ajv.compile(rebased) as Validator;
}

/** A copy of a property schema without `key`, also inside its allOf parts. */
function without(p: Json, key: string): Json {
  const { [key]: _dropped, ...rest } = p;
  if (Array.isArray(rest['allOf'])) rest['allOf'] = (rest['allOf'] as Json[]).map((part) => without(deref(part), key));
  return rest;
}
