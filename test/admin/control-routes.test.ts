import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminApp, type AdminToken } from '../../src/admin/server.ts';
import { SyncRules } from '../../src/capture/rules.ts';
import { ConnectorSettingsStore } from '../../src/connector-settings.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { SettingsLog } from '../../src/publish/settings-log.ts';
import { openApiValidator } from '../integration/support/openapi.ts';

type Json = Record<string, unknown>;

/** The settings log in memory: what the store wrote, as the Kafka topics would hold it (JSON round trip). */
function memoryLog(): SettingsLog & { writes: Array<{ settings: unknown; audit: unknown }> } {
  const writes: Array<{ settings: unknown; audit: unknown }> = [];
  return {
    writes,
    readSettings: () => Promise.resolve(writes.length ? structuredClone(writes.at(-1)!.settings) : undefined),
    readAudit: () => Promise.resolve(writes.map((w) => structuredClone(w.audit))),
    write: (settings, audit) => {
      writes.push(JSON.parse(JSON.stringify({ settings, audit })) as { settings: unknown; audit: unknown });
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

const SALT = 'salt-of-the-test-connector-0123456789';
const tokens: AdminToken[] = [
  { name: 'ops-admin', token: 'a'.repeat(32), access: 'admin' },
  { name: 'dashboard', token: 'r'.repeat(32), access: 'read-only' },
];
const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function start(fileRules = new SyncRules({ tables: { deal: { block: ['title'] } } }, SALT)) {
  const log = memoryLog();
  const store = new ConnectorSettingsStore({ connector: 'acme', fileRules, log, logger: silentLogger });
  const app = adminApp({ tokens, connectors: () => [], settings: (name) => (name === 'acme' ? store : undefined) });
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const check = openApiValidator();
  const call = async (method: string, path: string, body?: unknown, token: string | null = tokens[0]!.token) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const json = (await res.json()) as Json;
    check(method, path, res.status, json);
    return { status: res.status, body: json };
  };
  return { store, log, call };
}

describe('admin API settings routes', () => {
  it('blocks, hashes, filters and pauses; every change is written with its audit record first', async () => {
    const { store, log, call } = await start();
    const before = await call('GET', '/v1/connectors/acme/settings');
    expect(before.body).toEqual({ rules: { tables: { deal: { block: ['title'] } } }, rulesFrom: 'file', paused: false, pausedTables: [] });

    const blocked = await call('POST', '/v1/connectors/acme/tables/person/columns/notes/block');
    expect(blocked.status).toBe(200);
    expect((blocked.body.settings as Json).rulesFrom).toBe('api');
    // The file's rules are the base of the first change through the API.
    expect(store.rules.spec.tables).toEqual({ deal: { block: ['title'] }, person: { block: ['notes'] } });
    const hashed = await call('POST', '/v1/connectors/acme/tables/deal/columns/person_id/hash');
    expect(hashed.body.warnings).toEqual([expect.stringContaining('re-sync deal')]);
    expect(store.rules.spec.tables?.deal).toEqual({ block: ['title'], hash: ['person_id'] });
    await call('PUT', '/v1/connectors/acme/tables/deal/filter', { filter: { column: 'status', eq: 'open' } });
    expect(store.rules.spec.tables?.deal?.filter).toEqual({ column: 'status', eq: 'open' });
    await call('DELETE', '/v1/connectors/acme/tables/deal/filter');
    expect(store.rules.spec.tables?.deal?.filter).toBeUndefined();
    await call('PUT', '/v1/connectors/acme/schema-changes', { policy: 'block-all' });
    await call('POST', '/v1/connectors/acme/enable', { enable: ['deal.region_code', 'person'] });
    expect(store.rules.policy).toBe('block-all');
    expect(store.rules.enabled('deal.region_code')).toBe(true);
    await call('POST', '/v1/connectors/acme/tables/lead/block');
    expect(store.rules.tableBlocked('lead')).toBe(true);
    await call('POST', '/v1/connectors/acme/tables/lead/unblock');
    expect(store.rules.tableBlocked('lead')).toBe(false);

    const generation = store.generation;
    const paused = await call('POST', '/v1/connectors/acme/pause');
    expect((paused.body.settings as Json).paused).toBe(true);
    expect(store.paused).toBe(true);
    expect(store.generation, 'a pause is no rules change').toBe(generation);
    await call('POST', '/v1/connectors/acme/tables/deal/pause');
    expect(store.tablePaused('deal')).toBe(true);
    await call('POST', '/v1/connectors/acme/resume');
    await call('POST', '/v1/connectors/acme/tables/deal/resume');
    expect(store.paused || store.tablePaused('deal')).toBe(false);

    // Audit: newest first, the token's name, before and after; the salt and the tokens appear nowhere.
    const audit = await call('GET', '/v1/connectors/acme/audit?limit=3');
    const entries = audit.body.entries as Json[];
    expect(entries.map((e) => e.action)).toEqual(['resume-table', 'resume', 'pause-table']);
    expect(entries.every((e) => e.by === 'ops-admin')).toBe(true);
    expect((entries[2]!.before as Json).pausedTables).toEqual([]);
    expect((entries[2]!.after as Json).pausedTables).toEqual(['deal']);
    expect(log.writes).toHaveLength(12);
    const written = JSON.stringify(log.writes);
    for (const secret of [SALT, ...tokens.map((t) => t.token)]) expect(written).not.toContain(secret);

    // A new store over the same log (a restart) reads the same settings; a reset goes back to the file's.
    const again = new ConnectorSettingsStore({ connector: 'acme', fileRules: new SyncRules({ tables: { deal: { block: ['title'] } } }, SALT), log, logger: silentLogger });
    await again.load();
    expect(again.view()).toEqual(store.view());
    const reset = await call('DELETE', '/v1/connectors/acme/rules');
    expect(reset.body.settings).toMatchObject({ rules: { tables: { deal: { block: ['title'] } } }, rulesFrom: 'file' });
  });

  it('refuses bad bodies (naming the field), unknown tables and columns, key hashing and the read-only token, changing nothing', async () => {
    const { store, log, call } = await start(new SyncRules({}, undefined));
    const refuse = async (method: string, path: string, body: unknown, status: number, message: RegExp, token?: string) => {
      const r = await call(method, path, body, token);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(String(r.body.message)).toMatch(message);
    };
    await refuse('PUT', '/v1/connectors/acme/tables/deal/filter', { filter: { column: 'status' } }, 400, /^body filter/);
    await refuse('PUT', '/v1/connectors/acme/tables/deal/filter', { filtre: {} }, 400, /filtre/);
    await refuse('PUT', '/v1/connectors/acme/tables/deal/filter', '{not json', 400, /not valid JSON/);
    await refuse('PUT', '/v1/connectors/acme/schema-changes', { policy: 'sometimes' }, 400, /^body policy/);
    await refuse('POST', '/v1/connectors/acme/enable', { enable: [] }, 400, /^body enable/);
    await refuse('POST', '/v1/connectors/acme/tables/stage/columns/no_such_column/block', undefined, 400, /no_such_column/);
    await refuse('POST', '/v1/connectors/acme/tables/deal/columns/id/block', undefined, 400, /primary key/);
    await refuse('POST', '/v1/connectors/acme/tables/deal/columns/value/hash', undefined, 400, /HASH_SALT/);
    await refuse('POST', '/v1/connectors/acme/tables/deal_history/pause', undefined, 400, /pause deal/);
    await refuse('POST', '/v1/connectors/acme/tables/nosuch/block', undefined, 404, /no table "nosuch"/);
    await refuse('POST', '/v1/connectors/nosuch/pause', undefined, 404, /no connector named "nosuch"/);
    for (const [method, path] of [['POST', '/v1/connectors/acme/pause'], ['DELETE', '/v1/connectors/acme/rules'], ['PUT', '/v1/connectors/acme/schema-changes'], ['POST', '/v1/connectors/acme/tables/deal/columns/title/block']] as const) {
      await refuse(method, path, method === 'PUT' ? { policy: 'block-all' } : undefined, 403, /read-only/, tokens[1]!.token);
    }
    expect((await call('POST', '/v1/connectors/acme/pause', undefined, null)).status).toBe(401);
    expect(log.writes, 'nothing was written').toHaveLength(0);
    expect(store.view()).toEqual({ rules: {}, rulesFrom: 'file', paused: false, pausedTables: [] });

    // Hashing a key column would change the record key's schema: refused, with the way to do it.
    const salted = await start(new SyncRules({}, SALT));
    const r = await salted.call('POST', '/v1/connectors/acme/tables/person/columns/id/hash');
    expect(r.status).toBe(409);
    expect(String(r.body.message)).toMatch(/record key .*new topicPrefix/);
    expect(salted.log.writes).toHaveLength(0);
  });
});
