/** Validates admin API answers against spec/admin-api.yaml (OpenAPI 3.1), by path template, method and status. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { expect } from 'vitest';

type Json = Record<string, unknown>;
const SPEC = parse(readFileSync(resolve(import.meta.dirname, '../../../spec/admin-api.yaml'), 'utf8')) as Json;

/** The path template of spec/admin-api.yaml a concrete path matches (`/v1/connectors/acme/tables/deal` → `…/{connector}/tables/{table}`). */
export function templateOf(path: string): string {
  const bare = path.split('?')[0]!;
  const found = Object.keys(SPEC.paths as Json).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(bare));
  expect(found, `spec/admin-api.yaml has a path for ${bare}`).toBeDefined();
  return found!;
}

/**
 * A validator of responses against spec/admin-api.yaml: the operation (path template and method) must
 * document the status, and the body must match its schema.
 */
export function openApiValidator(): (method: string, path: string, status: number, body: unknown) => void {
  // ajv is CommonJS: Node's ESM loader and vitest disagree on where the class sits.
  const mod: unknown = Ajv2020Module;
  const Ajv = ((mod as { default?: unknown }).default ?? mod) as typeof Ajv2020Module.default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /T/.test(s));
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addSchema(SPEC, 'admin');
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  return (method, path, status, body) => {
    const template = path.startsWith('/v1/') ? templateOf(path) : path;
    const op = ((SPEC.paths as Json)[template] as Json)[method.toLowerCase()] as Json | undefined;
    expect(op, `${method} ${template} is documented`).toBeDefined();
    let response = (op!.responses as Json)[String(status)] as Json | undefined;
    expect(response, `${method} ${template} documents status ${status}`).toBeDefined();
    if (response!.$ref) response = ((SPEC.components as Json).responses as Json)[String(response!.$ref).split('/').pop()!] as Json;
    const key = `${method} ${template} ${status}`;
    let validate = compiled.get(key);
    if (!validate) {
      const schema = ((response!.content as Json)['application/json'] as Json).schema as Json;
      validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', '"$ref":"admin#/')) as Json);
      compiled.set(key, validate);
    }
    expect(validate(body), `${key}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(body).slice(0, 400)}`).toBe(true);
  };
}

/** The same validator (the connector tests' name for it). */
export const adminApiValidator = openApiValidator;
