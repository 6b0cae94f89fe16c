import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, runCli, uniqueName, type CliRun } from './support/harness.ts';
import { adminApiValidator } from './support/openapi.ts';
import { consentInBrowser, expectNoSecrets } from './support/oauth.ts';
import { api, listAllDeals } from './support/pipedrive.ts';

type Json = Record<string, unknown>;

/**
 * Connectors created through the admin API of a running producer (real process, Kafka, registry; the
 * local Pipedrive and its OAuth server): with an API token it syncs at once; with OAuth the answer is the
 * authorize URL, and the browser's return to the callback starts it. Both survive a restart (read from the
 * connectors topic) and go on syncing; DELETE stops and removes one. Every answer validates against
 * spec/admin-api.yaml; no token or secret is in the connectors topic, an output line, an answer or the metrics.
 * Oracle: the simulator's own deals.
 */
describe('admin API: connectors created with an API token or OAuth', () => {
  let sim: Simulator;
  let run: CliRun;
  let url: string;
  let metricsUrl: string;
  const check = adminApiValidator();
  const base = uniqueName('acbase');
  const apiName = uniqueName('acapi');
  const oauthName = uniqueName('acoauth');
  const connectorsTopic = uniqueName('acdefs');
  const apiToken = randomBytes(20).toString('hex');
  const adminToken = randomBytes(24).toString('hex');
  const readOnlyToken = randomBytes(24).toString('hex');
  const answers: string[] = [];
  const outputs: string[] = [];
  let env: Record<string, string>;

  const start = async () => {
    run = runCli(['run'], env);
    url = String((await run.waitForLine((l) => l.event === 'admin-api')).url).replace(/\/v1\/connectors$/, '');
    metricsUrl = String(run.lines.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Json) : {})).find((l) => l.event === 'metrics')!.url);
  };
  const stop = async () => {
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    outputs.push(...run.lines);
  };
  const call = async (method: string, path: string, body?: unknown, token: string | null = adminToken) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    answers.push(text);
    return { status: res.status, body: JSON.parse(text) as Json, headers: res.headers };
  };
  const dealIds = async (prefix: string): Promise<Set<number>> => {
    try {
      return new Set((await readTopic(`${prefix}.deal`)).map((r) => (r.key as { id: number }).id));
    } catch {
      return new Set(); // the topic does not exist yet
    }
  };
  /** Waits until the connector's deal topic holds a record of every deal of the simulator, and no other. */
  const expectDealsSynced = async (prefix: string) => {
    const want = new Set((await listAllDeals(sim.baseUrl, sim.token)).map((d) => Number(d.id)));
    const deadline = Date.now() + 90_000;
    let got = await dealIds(prefix);
    while ([...want].some((id) => !got.has(id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      got = await dealIds(prefix);
    }
    expect([...got].sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
  };
  const secrets = () => new Set([apiToken, sim.token, adminToken, readOnlyToken, ...sim.oauth.secrets()]);

  beforeAll(async () => {
    // Access tokens of 4 s: the OAuth connector refreshes (and the refresh token rotates) every 2 s, so its
    // restart below works only if the rotated tokens were stored in the connectors topic.
    sim = await startSimulator({ seed: 23, deals: 15, tokens: [{ token: apiToken, userId: 1, admin: true }], oauth: { accessTokenTtlS: 4, rotateRefreshTokens: true } });
    env = pipelineEnv(sim, base, {
      TABLES: 'deal',
      POLL_INTERVAL_MS: '300',
      METRICS_PORT: '0',
      ADMIN_API_PORT: '0',
      ADMIN_API_TOKEN: adminToken,
      ADMIN_API_READONLY_TOKEN: readOnlyToken,
      CONNECTOR_SECRETS_KEY: randomBytes(32).toString('base64'),
      CONNECTORS_TOPIC: connectorsTopic,
    });
    await start();
  });
  afterAll(async () => {
    if (run && run.child.exitCode === null) await stop();
    await sim?.close();
  });

  it('creates a connector with an API token: 201, stored sealed, its topics get the simulator\'s deals', async () => {
    const body = { name: apiName, pipedrive: { apiToken, baseUrl: sim.baseUrl }, tables: ['deal'] };
    // A read-only token cannot create (the existing middleware's 403).
    const ro = await call('POST', '/v1/connectors', body, readOnlyToken);
    expect(ro.status).toBe(403);
    check('POST', '/v1/connectors', 403, ro.body);
    // Bad bodies: 400 naming the field.
    const noAuth = await call('POST', '/v1/connectors', { name: apiName, pipedrive: {} });
    expect(noAuth.status).toBe(400);
    check('POST', '/v1/connectors', 400, noAuth.body);
    expect(noAuth.body.message).toContain('pipedrive.apiToken');
    const badTable = await call('POST', '/v1/connectors', { ...body, tables: ['nosuch'] });
    expect(badTable.status).toBe(400);
    expect(badTable.body.message).toContain('tables: unknown table "nosuch"');
    const notJson = await call('POST', '/v1/connectors', '{"name":');
    expect(notJson.status).toBe(400);
    check('POST', '/v1/connectors', 400, notJson.body);

    const created = await call('POST', '/v1/connectors', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    check('POST', '/v1/connectors', 201, created.body);
    expect(created.body).toMatchObject({ name: apiName, topicPrefix: apiName });
    await run.waitForLine((l) => l.event === 'connector-created' && l.connector === apiName && l.by === 'admin');
    expect(created.headers.get('location')).toBe(`/v1/connectors/${apiName}`);
    const again = await call('POST', '/v1/connectors', body);
    expect(again.status).toBe(409);
    check('POST', '/v1/connectors', 409, again.body);
    const sameAsFile = await call('POST', '/v1/connectors', { ...body, name: base });
    expect(sameAsFile.status).toBe(409);

    await expectDealsSynced(apiName);
    const list = await call('GET', '/v1/connectors', undefined, readOnlyToken);
    check('GET', '/v1/connectors', 200, list.body);
    expect((list.body.connectors as Json[]).map((c) => c.name)).toEqual([base, apiName]);
    const one = await call('GET', `/v1/connectors/${apiName}`, undefined, readOnlyToken);
    check('GET', '/v1/connectors/{connector}', 200, one.body);
    expect(one.body.state).toBe('running');

    const records = await readTopic(connectorsTopic, { decode: false });
    const bytes = records.map((r) => `${String(r.key)}=${String(r.value)}`);
    expect(bytes.some((b) => b.startsWith(`${apiName}=`) && b.includes('"apiToken":"v1.'))).toBe(true);
    expectNoSecrets('the connectors topic', bytes, [apiToken]);
  });

  it('OAuth: 202 with the authorize URL; the callback refuses a wrong or used state and starts the connector', async () => {
    const client = sim.oauth.registered[0]!;
    const created = await call('POST', '/v1/connectors', { name: oauthName, pipedrive: { oauth: { clientId: client.clientId, clientSecret: client.clientSecret, oauthUrl: sim.baseUrl } }, tables: ['deal'] });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    check('POST', '/v1/connectors', 202, created.body);
    const authorizeUrl = new URL(String(created.body.authorizeUrl));
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${sim.baseUrl}/oauth/authorize`);
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${url}/v1/oauth/callback`);
    expect(authorizeUrl.searchParams.get('state')).toBe(created.body.state);
    const waiting = await call('GET', `/v1/connectors/${oauthName}`, undefined, readOnlyToken);
    check('GET', '/v1/connectors/{connector}', 200, waiting.body);
    expect(waiting.body.state).toBe('awaiting-authorization');

    const forged = await call('GET', '/v1/oauth/callback?code=stolen&state=not-the-state', undefined, null);
    expect(forged.status).toBe(400);
    check('GET', '/v1/oauth/callback', 400, forged.body);
    expect(forged.body.error).toBe('invalid-state');

    const back = await consentInBrowser(authorizeUrl.href, 'allow');
    expect(`${back.origin}${back.pathname}`).toBe(`${url}/v1/oauth/callback`);
    const done = await call('GET', `${back.pathname}${back.search}`, undefined, null);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    check('GET', '/v1/oauth/callback', 200, done.body);
    expect(done.body.connector).toBe(oauthName);
    const replay = await call('GET', `${back.pathname}${back.search}`, undefined, null);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid-state');

    await expectDealsSynced(oauthName);
    expect(sim.oauth.stats()).toMatchObject({ grants: 1 });
    await run.waitForLine((l) => l.event === 'oauth-token-refreshed' && l.connector === oauthName && l.refreshTokenRotated === true, 30_000);

    // The grant revoked at Pipedrive: the connector stops saying how to authorize it again; doing so restarts it.
    sim.oauth.revokeAll();
    const failed = await run.waitForLine((l) => l.event === 'connector-failed' && l.connector === oauthName, 30_000);
    expect(String(failed.error)).toContain(`POST /v1/connectors/${oauthName}/authorize`);
    expect((await call('GET', `/v1/connectors/${oauthName}`, undefined, readOnlyToken)).body.state).toBe('stopped');
    const again = await call('POST', `/v1/connectors/${oauthName}/authorize`);
    expect(again.status).toBe(202);
    check('POST', '/v1/connectors/{connector}/authorize', 202, again.body);
    const back2 = await consentInBrowser(String(again.body.authorizeUrl), 'allow');
    const done2 = await call('GET', `${back2.pathname}${back2.search}`, undefined, null);
    expect(done2.status, JSON.stringify(done2.body)).toBe(200);
    const newer = await api(sim.baseUrl, sim.token, 'POST', '/api/v2/deals', { title: 'after the new grant' });
    await expectDealsSynced(oauthName);
    expect((await dealIds(oauthName)).has(Number(newer.id))).toBe(true);
  });

  it('after a restart both connectors are back and go on syncing; DELETE stops and removes one; no secret anywhere', async () => {
    await stop();
    await start();
    const list = await call('GET', '/v1/connectors', undefined, readOnlyToken);
    expect((list.body.connectors as Json[]).map((c) => c.name)).toEqual([base, apiName, oauthName]);
    // The rotated refresh token it resumed with works (the one from the first grant was retired long ago).
    await run.waitForLine((l) => l.event === 'oauth-token-refreshed' && l.connector === oauthName, 30_000);
    const created = await api(sim.baseUrl, sim.token, 'POST', '/api/v2/deals', { title: 'after the restart' });
    for (const prefix of [apiName, oauthName]) {
      await expectDealsSynced(prefix);
      expect((await dealIds(prefix)).has(Number(created.id))).toBe(true);
    }

    const fileDefined = await call('DELETE', `/v1/connectors/${base}`);
    expect(fileDefined.status).toBe(409);
    check('DELETE', '/v1/connectors/{connector}', 409, fileDefined.body);
    expect(fileDefined.body.message).toContain('defined in the configuration');
    const ro = await call('DELETE', `/v1/connectors/${apiName}`, undefined, readOnlyToken);
    expect(ro.status).toBe(403);
    const deleted = await call('DELETE', `/v1/connectors/${apiName}`);
    expect(deleted.status).toBe(200);
    check('DELETE', '/v1/connectors/{connector}', 200, deleted.body);
    await run.waitForLine((l) => l.event === 'connector-deleted' && l.connector === apiName);
    const gone = await call('GET', `/v1/connectors/${apiName}`, undefined, readOnlyToken);
    expect(gone.status).toBe(404);
    const missing = await call('DELETE', `/v1/connectors/${apiName}`);
    expect(missing.status).toBe(404);
    check('DELETE', '/v1/connectors/{connector}', 404, missing.body);
    // Stopped: a deal created now does not reach its topic while the other connectors get it.
    const later = await api(sim.baseUrl, sim.token, 'POST', '/api/v2/deals', { title: 'after the delete' });
    await expectDealsSynced(oauthName);
    expect((await dealIds(apiName)).has(Number(later.id))).toBe(false);

    // The CLI on the API: create from a token file (never an argument), readable output, --json, delete.
    const cliName = uniqueName('accli');
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'pcdc-conn-')), 'token');
    writeFileSync(tokenFile, `${apiToken}\n`);
    const cliEnv = { ADMIN_API_URL: url, ADMIN_API_TOKEN: adminToken };
    const help = runCli(['connectors', '--help'], cliEnv);
    expect(await help.exit).toBe(0);
    expect(help.lines.join('\n')).toContain('pipedrive-cdc connectors create NAME');
    const refused = runCli(['connectors', 'create', cliName, '--api-token-file', tokenFile], { ADMIN_API_URL: url, ADMIN_API_TOKEN: readOnlyToken });
    expect(await refused.exit).toBe(2);
    expect(refused.lines.join('\n')).toContain('403');
    const cliCreate = runCli(['connectors', 'create', cliName, '--api-token-file', tokenFile, '--base-url', sim.baseUrl, '--tables', 'deal'], cliEnv);
    expect(await cliCreate.exit, cliCreate.lines.join('\n')).toBe(0);
    expect(cliCreate.lines[0]).toMatch(new RegExp(`^Created connector ${cliName} \\((starting|running); topics ${cliName}\\.\\*\\)`));
    const duplicate = runCli(['connectors', 'create', cliName, '--api-token-file', tokenFile], cliEnv);
    expect(await duplicate.exit).toBe(1);
    expect(duplicate.lines.join('\n')).toContain(`a connector named "${cliName}" exists already`);
    await expectDealsSynced(cliName);
    const cliDelete = runCli(['connectors', 'delete', cliName, '--json'], cliEnv);
    expect(await cliDelete.exit).toBe(0);
    expect(JSON.parse(cliDelete.lines.join('\n'))).toMatchObject({ name: cliName, deleted: true });
    outputs.push(...help.lines, ...refused.lines, ...cliCreate.lines, ...duplicate.lines, ...cliDelete.lines);

    const metrics = await (await fetch(metricsUrl)).text();
    await stop();
    // A restart does not bring the deleted one back.
    await start();
    const after = await call('GET', '/v1/connectors', undefined, readOnlyToken);
    expect((after.body.connectors as Json[]).map((c) => c.name)).toEqual([base, oauthName]);
    await stop();

    const topicBytes = (await readTopic(connectorsTopic, { decode: false })).map((r) => `${String(r.key)}=${String(r.value)}`);
    const all = secrets();
    expectNoSecrets('the connectors topic', topicBytes, all);
    expectNoSecrets('the output lines', outputs, all);
    expectNoSecrets('the API answers', answers, all);
    expectNoSecrets('the metrics', [metrics], all);
  });
});
