import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { freePort, pipelineEnv, readTopic, runCli, uniqueName, until, type CliRun } from './support/harness.ts';
import { adminApiValidator } from './support/openapi.ts';
import { expectNoSecrets } from './support/oauth.ts';
import { api } from './support/pipedrive.ts';

type Json = Record<string, unknown>;

/**
 * A connector created through the admin API with webhook settings (issue 14), in a real producer process:
 * it registers its webhooks at the local Pipedrive, a deal change reaches its topic within seconds under a
 * 10-minute poll, its generated webhook password is kept sealed (a restart reuses it and the subscription),
 * and DELETE removes its subscriptions at
 * Pipedrive. Every answer validates against spec/admin-api.yaml. Oracles: the simulator's webhook list
 * (GET /v1/webhooks, as Pipedrive answers it) and the topic as a consumer reads it.
 */
describe('admin API: a connector created with webhooks', () => {
  let sim: Simulator;
  let run: CliRun;
  let url: string;
  let env: Record<string, string>;
  const outputs: string[] = [];
  const start = async () => {
    run = runCli(['run'], env);
    url = String((await run.waitForLine((l) => l.event === 'admin-api')).url).replace(/\/v1\/connectors$/, '');
  };
  const check = adminApiValidator();
  const base = uniqueName('acwbase');
  const name = uniqueName('acwh');
  const connectorsTopic = uniqueName('acwdefs');
  const adminToken = randomBytes(24).toString('hex');
  const answers: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    answers.push(text);
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  /** The webhooks the local Pipedrive lists (its GET /v1/webhooks) posting to `publicUrl`. */
  const listed = async (publicUrl: string): Promise<Json[]> => {
    const res = await fetch(`${sim.baseUrl}/v1/webhooks?api_token=${sim.token}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { data: Json[] }).data.filter((w) => w.subscription_url === publicUrl);
  };
  const titles = async (prefix: string): Promise<unknown[]> => {
    try {
      return (await readTopic(`${prefix}.deal`)).map((r) => (r.value as Json | null)?.title);
    } catch {
      return []; // the topic does not exist yet
    }
  };

  beforeAll(async () => {
    sim = await startSimulator({ seed: 31, deals: 10 });
    env = pipelineEnv(sim, base, {
      TABLES: 'deal',
      POLL_INTERVAL_MS: '600000',
      METRICS_PORT: '0',
      ADMIN_API_PORT: '0',
      ADMIN_API_TOKEN: adminToken,
      CONNECTOR_SECRETS_KEY: randomBytes(32).toString('base64'),
      CONNECTORS_TOPIC: connectorsTopic,
    });
    await start();
  });
  afterAll(async () => {
    if (run && run.child.exitCode === null) {
      run.child.kill('SIGTERM');
      await run.exit;
    }
    await sim?.close();
  });

  it('registers its webhooks, a change arrives within 5 s under a 10-minute poll; DELETE removes its subscriptions at Pipedrive', async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}/hooks/${name}`;
    const body = { name, pipedrive: { apiToken: sim.token, baseUrl: sim.baseUrl }, tables: ['deal'], webhooks: { publicUrl, port, host: '127.0.0.1' } };

    const bad = await call('POST', '/v1/connectors', { ...body, webhooks: { publicUrl: 'not a url', port } });
    expect(bad.status).toBe(400);
    check('POST', '/v1/connectors', 400, bad.body);
    expect(bad.body.message).toContain('webhooks.publicUrl');
    const insecure = await call('POST', '/v1/connectors', { ...body, webhooks: { publicUrl: 'http://cdc.example.com/hooks', port } });
    expect(insecure.status).toBe(400);
    check('POST', '/v1/connectors', 400, insecure.body);
    expect(insecure.body.message).toContain('webhooks.publicUrl');

    const created = await call('POST', '/v1/connectors', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    check('POST', '/v1/connectors', 201, created.body);
    const samePort = await call('POST', '/v1/connectors', { ...body, name: `${name}-2`, topicPrefix: `${name}-2` });
    expect(samePort.status).toBe(409);
    check('POST', '/v1/connectors', 409, samePort.body);

    await until('its webhook at Pipedrive', async () => (await listed(publicUrl)).length === 1);
    const [hook] = await listed(publicUrl);
    expect(hook).toMatchObject({ event_object: 'deal', event_action: '*', version: '2.0', http_auth_user: `pipedrive-cdc-${name}` });
    await until('the first pass', async () => (await titles(name)).length >= 10);

    const changedAt = Date.now();
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/4', { title: 'hinted through the API connector' });
    await until('the change in its topic', async () => (await titles(name)).includes('hinted through the API connector'), 5000);
    expect((Date.now() - changedAt) / 1000).toBeLessThan(5);

    // The generated password (the simulator holds it, as Pipedrive would) is sealed in the connectors topic
    // and in no answer or output line.
    const password = sim.store.webhooks.list().find((w) => w.subscriptionUrl === publicUrl)!.httpAuthPassword!;
    expect(password.length).toBeGreaterThanOrEqual(16);
    const records = (await readTopic(connectorsTopic, { decode: false })).map((r) => `${String(r.key)}=${String(r.value)}`);
    expect(records.some((b) => b.startsWith(`${name}=`) && /"webhooks":\{[^}]*"password":"v1\./.test(b))).toBe(true);
    expectNoSecrets('the connectors topic', records, [password, sim.token]);

    // A restart reads the connector (and its sealed password) back: the same subscription is kept, and works.
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    outputs.push(...run.lines);
    await start();
    await until('the restarted connector running', async () => (await call('GET', `/v1/connectors/${name}`)).body.state === 'running');
    await until('a pass after the restart', async () => ((await call('GET', `/v1/connectors/${name}`)).body.tables as Json[] | undefined)?.some((t) => t.lastPassStartedAt !== null) === true);
    expect((await listed(publicUrl)).map((w) => w.id)).toEqual([hook!.id]);
    const again = Date.now();
    await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/5', { title: 'hinted after the restart' });
    await until('the change after the restart', async () => (await titles(name)).includes('hinted after the restart'), 5000);
    expect((Date.now() - again) / 1000).toBeLessThan(5);

    const deleted = await call('DELETE', `/v1/connectors/${name}`);
    expect(deleted.status).toBe(200);
    check('DELETE', '/v1/connectors/{connector}', 200, deleted.body);
    expect(await listed(publicUrl)).toEqual([]);
    expect(sim.store.webhooks.list().filter((w) => w.subscriptionUrl === publicUrl)).toEqual([]);
    expectNoSecrets('answers and output', [...answers, ...outputs, ...run.lines], [password, sim.token]);
  }, 180_000);
});
