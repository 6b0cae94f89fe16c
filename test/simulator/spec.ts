/**
 * Loads Pipedrive's official v2 OpenAPI spec and compiles response schemas for conformance checks.
 * OpenAPI 3.0 → JSON Schema: `nullable: true` becomes a type union; `example` and `x-*` are dropped;
 * `$ref`s resolve against the whole document. Known, reasoned deviations live in spec-deviations.ts.
 */
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import { parse } from 'yaml';
import { OPENAPI_V2_PATH } from '../../spec/paths.ts';

export const SPEC_V2_PATH = OPENAPI_V2_PATH;
const SPEC_ID = 'pipedrive-v2';

type Json = Record<string, unknown>;
export type Validator = ((data: unknown) => boolean) & { errors?: unknown };

/** OpenAPI 3.0 schema fragment → JSON Schema (draft-07-compatible), recursively. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === 'example' || k === 'examples' || k.startsWith('x-') || k === 'nullable') continue;
    out[k] = toJsonSchema(v);
  }
  if ((node as Json)['nullable'] === true) {
    if (typeof out['type'] === 'string') out['type'] = [out['type'], 'null'];
    if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...out['enum'], null];
    if (out['type'] === undefined && out['enum'] === undefined) return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

let cached: { doc: Json; ajv: InstanceType<typeof AjvModule.default> } | undefined;

export function loadSpec(): { doc: Json; ajv: InstanceType<typeof AjvModule.default> } {
  if (cached) return cached;
  const raw = parse(readFileSync(SPEC_V2_PATH, 'utf8')) as Json;
  const doc = toJsonSchema(raw) as Json;
  // ajv is CommonJS: Node's ESM loader and vitest disagree on where the class sits.
  const mod: unknown = AjvModule;
  const Ajv = ((mod as { default?: unknown }).default ?? mod) as typeof AjvModule.default;
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  const isDate = (s: string): boolean => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s));
  ajv.addFormat('date', isDate);
  ajv.addFormat('YYYY-MM-DD', isDate);
  ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s));
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('binary', () => true);
  ajv.addSchema(doc, SPEC_ID);
  cached = { doc, ajv };
  return cached;
}

/** Path + method of an operationId in the (converted) spec. */
export function findOperation(operationId: string): { path: string; method: string; op: Json } {
  const paths = loadSpec().doc['paths'] as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (op && typeof op === 'object' && op['operationId'] === operationId) return { path, method, op };
    }
  }
  throw new Error(`operationId not in spec: ${operationId}`);
}

/** The JSON response schema of operationId/status (after conversion), for inspection or patching. */
export function responseSchema(operationId: string, status = '200'): Json {
  const { op } = findOperation(operationId);
  const schema = (op['responses'] as Record<string, Json> | undefined)?.[status]?.['content'] as Json | undefined;
  const json = (schema?.['application/json'] as Json | undefined)?.['schema'] as Json | undefined;
  if (!json) throw new Error(`${operationId} has no ${status} application/json response schema`);
  return json;
}

/** Compile a response schema; `patch` may adjust a deep copy first (documented deviations only). */
export function compileResponse(operationId: string, status = '200', patch?: (schema: Json) => void): Validator {
  const schema = structuredClone(responseSchema(operationId, status));
  patch?.(schema);
  // Refs inside point at the spec root; resolve them by addressing the spec document by id.
  const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', `"$ref":"${SPEC_ID}#/`)) as Json;
  return loadSpec().ajv.compile(rebased) as Validator;
}

/** The object schema describing `data` (or `data[]` items) inside an allOf/properties response. */
export function dataSchema(schema: Json): Json {
  const parts = [schema, ...((schema['allOf'] as Json[] | undefined) ?? [])];
  for (const p of parts) {
    const data = (p['properties'] as Record<string, Json> | undefined)?.['data'];
    if (data) return (data['type'] === 'array' ? data['items'] : data) as Json;
  }
  throw new Error('response schema has no data property');
}
