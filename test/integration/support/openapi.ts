/** Validates admin API answers against spec/admin-api.yaml (OpenAPI 3.1), by path template, method and status. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { expect } from 'vitest';

type Json = Record<string, unknown>;

export function adminApiValidator(): (method: string, path: string, status: number, body: unknown) => void {
  const spec = parse(readFileSync(resolve(import.meta.dirname, '../../../spec/admin-api.yaml'), 'utf8')) as Json;
  // ajv is CommonJS: Node's ESM loader and vitest disagree on where the class sits.
  const mod: unknown = Ajv2020Module;
  const Ajv = ((mod as { default?: unknown }).default ?? mod) as typeof Ajv2020Module.default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /T/.test(s));
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  ajv.addSchema(spec, 'admin');
  return (method, path, status, body) => {
    const item = (spec.paths as Json)[path] as Json | undefined;
    expect(item, `spec documents ${path}`).toBeDefined();
    const op = item![method.toLowerCase()] as Json | undefined;
    expect(op, `spec documents ${method} ${path}`).toBeDefined();
    let response = (op!.responses as Json)[String(status)] as Json | undefined;
    expect(response, `${method} ${path} documents status ${status}`).toBeDefined();
    if (response!.$ref) response = ((spec.components as Json).responses as Json)[String(response!.$ref).split('/').pop()!] as Json;
    const schema = ((response!.content as Json)['application/json'] as Json).schema as Json;
    const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', '"$ref":"admin#/')) as Json);
    expect(validate(body), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  };
}
