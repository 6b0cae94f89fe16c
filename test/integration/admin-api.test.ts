import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { pipelineEnv, runCli, uniqueName } from './support/harness.ts';

type Json = Record<string, unknown>;
const SPEC = parse(readFileSync(resolve(import.meta.dirname, '../../spec/admin-api.yaml'), 'utf8')) as Json;

/** A validator of one operation's response (by path template, method and status) against spec/admin-api.yaml. */
function responseValidator(): (path: string, status: number, body: unknown) => void {
  // ajv is CommonJS: Node's ESM loader and vitest disagree on where the class sits.
  const mod: unknown = Ajv2020Module;
  const Ajv = ((mod as { default?: unknown }).default ?? mod) as typeof Ajv2020Module.default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /T/.test(s));
  ajv.addSchema(SPEC, 'admin');
  return (path, status, body) => {
    const op = ((SPEC.paths as Json)[path] as Json).get as Json;
    let response = (op.responses as Json)[String(status)] as Json | undefined;
    expect(response, `${path} documents status ${status}`).toBeDefined();
    if (response!.$ref) response = (((SPEC.components as Json).responses as Json)[String(response!.$ref).split('/').pop()!] as Json);
    const schema = ((response!.content as Json)['application/json'] as Json).schema as Json;
    const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', '"$ref":"admin#/')) as Json);
    expect(validate(body), `${path} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  };
}

/**
 * The admin API of a running producer (`pipedrive-cdc run`, as a process): every response validates
 * against spec/admin-api.yaml; no or a wrong token gets 401; the read-only token reads but cannot change
 * anything (403); the tables show their cursor, the rules their columns.
 */
describe('admin API', () => {
  it('lists connectors, tables and columns with sync state; 401 without a valid token, 403 for the read-only one writing', { timeout: 120_000 }, async () => {
    const sim = await startSimulator({ seed: 6, deals: 20, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z') }) });
    const prefix = uniqueName('admin');
    const adminToken = randomBytes(24).toString('hex');
    const readOnlyToken = randomBytes(24).toString('hex');
    const run = runCli(['run'], pipelineEnv(sim, prefix, {
      TABLES: 'deal,person',
      METRICS_PORT: '0',
      ADMIN_API_PORT: '0',
      ADMIN_API_TOKEN: adminToken,
      ADMIN_API_READONLY_TOKEN: readOnlyToken,
      POLL_INTERVAL_MS: '500',
      HASH_SALT: randomBytes(16).toString('hex'),
      SYNC_RULES: JSON.stringify({ tables: { deal: { block: ['title'], hash: ['person_id'] } }, blockedTables: ['person_phone'] }),
    }));
    try {
      const url = String((await run.waitForLine((l) => l.event === 'admin-api')).url).replace(/\/v1\/connectors$/, '');
      await run.waitForLine((l) => l.event === 'batch-committed' && l.table === 'deal');
      await run.waitForLine((l) => l.event === 'batch-committed' && l.table === 'person');
      const check = responseValidator();
      const get = async (path: string, token: string | null = readOnlyToken, method = 'GET') => {
        const res = await fetch(`${url}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
        return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
      };

      // Authentication: none, a wrong token, a token of another length, another scheme → 401 (documented shape).
      for (const auth of [null, 'x'.repeat(48), 'short', `${adminToken}x`]) {
        const r = await get('/v1/connectors', auth);
        expect(r.status, `token ${String(auth?.slice(0, 6))}…`).toBe(401);
        expect(r.headers.get('www-authenticate')).toContain('Bearer');
        check('/v1/connectors', 401, r.body);
      }
      const basic = await fetch(`${url}/v1/connectors`, { headers: { authorization: `Basic ${Buffer.from(`a:${adminToken}`).toString('base64')}` } });
      expect(basic.status).toBe(401);

      // The read-only token reads …
      const list = await get('/v1/connectors');
      expect(list.status).toBe(200);
      check('/v1/connectors', 200, list.body);
      expect((list.body.connectors as Json[]).map((c) => c.name)).toEqual([prefix]);
      const connector = await get(`/v1/connectors/${prefix}`);
      check('/v1/connectors/{connector}', 200, connector.body);
      const tables = connector.body.tables as Json[];
      expect(tables.map((t) => t.name).sort()).toEqual(['deal', 'person', 'person_phone']);
      const deal = tables.find((t) => t.name === 'deal')!;
      expect(deal.state).toBe('ok');
      expect(Date.parse(String(deal.cursor))).toBeGreaterThan(0);
      expect(tables.find((t) => t.name === 'person_phone')!.state).toBe('blocked');
      const dealTable = await get(`/v1/connectors/${prefix}/tables/deal`);
      check('/v1/connectors/{connector}/tables/{table}', 200, dealTable.body);
      const columns = new Map((dealTable.body.columns as Json[]).map((c) => [c.name, c]));
      expect(columns.get('title')).toMatchObject({ sync: 'blocked', publishedAs: null });
      expect(columns.get('person_id')).toMatchObject({ sync: 'hashed', publishedAs: 'person_id_sha256' });
      expect(columns.get('value')).toMatchObject({ sync: 'synced', publishedAs: 'value' });
      // … but changes nothing; the admin token passes the check (POST on the connector itself is no endpoint: 404).
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const r = await get(`/v1/connectors/${prefix}`, readOnlyToken, method);
        expect(r.status, method).toBe(403);
        expect(r.body.error).toBe('forbidden');
      }
      expect((await get(`/v1/connectors/${prefix}`, adminToken, 'POST')).status).toBe(404);
      for (const path of [`/v1/connectors/nosuch`, `/v1/connectors/${prefix}/tables/nosuch`]) {
        const r = await get(path, adminToken);
        expect(r.status).toBe(404);
        check(path.includes('/tables/') ? '/v1/connectors/{connector}/tables/{table}' : '/v1/connectors/{connector}', 404, r.body);
      }
      // The CLI on the API: a readable table by default, the API's JSON with --json.
      const cliEnv = { ADMIN_API_URL: url, ADMIN_API_READONLY_TOKEN: readOnlyToken };
      const status = runCli(['status'], cliEnv);
      expect(await status.exit, status.lines.join('\n')).toBe(0);
      expect(status.lines[0]).toContain(`connector ${prefix} (running`);
      expect(status.lines[1]).toMatch(/^table\s+state\s+cursor\s+snapshot/);
      expect(status.lines.find((l) => l.startsWith('person_phone '))).toMatch(/^person_phone\s+blocked/);
      const columnsCli = runCli(['tables', prefix, 'deal'], cliEnv);
      expect(await columnsCli.exit, columnsCli.lines.join('\n')).toBe(0);
      expect(columnsCli.lines.find((l) => l.startsWith('person_id '))).toMatch(/^person_id\s+long\s+hashed\s+person_id_sha256$/);
      const json = runCli(['tables', prefix, '--json'], cliEnv);
      expect(await json.exit).toBe(0);
      expect((JSON.parse(json.lines.join('\n')) as Json[]).map((t) => t.name).sort()).toEqual(['deal', 'person', 'person_phone']);
      const refused = runCli(['status'], { ADMIN_API_URL: url, ADMIN_API_READONLY_TOKEN: 'y'.repeat(48) });
      expect(await refused.exit).toBe(2);
      expect(refused.lines.join('\n')).toContain('refused by the admin API (401)');
      const missing = runCli(['tables', 'nosuch'], cliEnv);
      expect(await missing.exit).toBe(1);
      expect(missing.lines.join('\n')).toContain('no connector named "nosuch"');

      // No token in any output line.
      for (const token of [adminToken, readOnlyToken]) expect(run.lines.join('\n')).not.toContain(token);
    } finally {
      run.child.kill('SIGTERM');
      await run.exit;
      await sim.close();
    }
  });
});
