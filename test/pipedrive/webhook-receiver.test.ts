/**
 * The producer's webhook side against the local Pipedrive: registration through the API (reuse, stale
 * and duplicate cleanup, removal), the receiver fed by the simulator's real deliveries (hints only, the
 * body's data never passed on), forged requests refused with 401 and counted, bursts coalesced into
 * passes. Oracles: the simulator's own webhook registry and store, and the metrics registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConfig, loadProducerConfig } from '../../src/config.ts';
import { loadProducerConfigs } from '../../src/config-file.ts';
import { loadWebhookSettings } from '../../src/config-webhooks.ts';
import { createMetrics, type Metrics } from '../../src/observe/metrics.ts';
import { PipedriveClient } from '../../src/pipedrive/client.ts';
import { HintCoalescer } from '../../src/pipedrive/webhook-hints.ts';
import { startWebhookReceiver, type WebhookHint } from '../../src/pipedrive/webhook-receiver.ts';
import { ConnectorWebhooks } from '../../src/pipedrive/webhooks.ts';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen } from '../simulator/helpers.ts';
import { compileV1, v1RequestSchema } from '../simulator/v1-spec.ts';
import { operationOf } from '../../src/simulator/http/middleware.ts';

const USER = 'pipedrive-cdc-hooktest';
const PASSWORD = 'a-long-random-webhook-secret-0123';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { generatedPassword?: boolean; maxRetries?: number } = {}) {
  const sim = await startFrozen({ deals: 3 });
  cleanups.push(() => sim.close());
  const metrics = createMetrics('producer');
  const hints: WebhookHint[] = [];
  const ref: { hooks?: ConnectorWebhooks } = {}; // the receiver asks for the ids of webhooks made after it started
  const rx = await startWebhookReceiver({
    connector: 'hooktest', user: USER, password: PASSWORD, port: 0, host: '127.0.0.1', metrics,
    knownWebhookIds: () => ref.hooks?.knownIds() ?? new Set(), onHint: (h) => hints.push(h),
  });
  cleanups.push(rx.close);
  const api = new PipedriveClient({ baseUrl: sim.baseUrl, apiToken: sim.token, maxRetries: opts.maxRetries ?? 2, sleep: async () => undefined });
  cleanups.push(() => api.close());
  const subscriptionUrl = `${rx.url}/hooks/pipedrive/`; // behind a proxy the path is whatever the proxy forwards
  const hooks = (ref.hooks = new ConnectorWebhooks(api, { connector: 'hooktest', subscriptionUrl, user: USER, password: PASSWORD, generatedPassword: opts.generatedPassword ?? false }));
  return { sim, metrics, hints, rx, hooks, subscriptionUrl };
}
const ours = (sim: Simulator, url: string) => sim.store.webhooks.list().filter((w) => w.subscriptionUrl === url);
const count = async (m: Metrics, which: 'webhooksReceived' | 'webhooksRefused', labels: Record<string, string>): Promise<number> =>
  (await m[which].get()).values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k as never] === x)).reduce((s, v) => s + v.value, 0);
const post = (url: string, body: unknown, auth: string | null) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: `Basic ${Buffer.from(auth).toString('base64')}` }) }, body: JSON.stringify(body) });

describe('registering the connector\'s webhooks', () => {
  it('one v2 webhook per synced entity with our credentials; reused on the next start; stale ones deleted; remove() deletes ours only', async () => {
    const { sim, hooks, subscriptionUrl } = await setup();
    const sent: unknown[] = [];
    sim.interceptors.push((req, res, next) => {
      if (operationOf(res) === 'addWebhook') sent.push(req.body);
      next();
    });
    const other = sim.store.webhooks.create({ ownerId: 1, userId: 1, eventAction: '*', eventObject: '*', subscriptionUrl: 'https://elsewhere.example/hook', version: '2.0', name: 'someone else', httpAuthUser: null, httpAuthPassword: null });
    const stale = sim.store.webhooks.create({ ownerId: 1, userId: 1, eventAction: '*', eventObject: 'deal', subscriptionUrl, version: '2.0', name: 'old credentials', httpAuthUser: 'old', httpAuthPassword: 'old' });
    const adminMade = sim.store.webhooks.create({ ownerId: 1, userId: 1, eventAction: '*', eventObject: 'person', subscriptionUrl, version: '2.0', name: 'by an admin', httpAuthUser: USER, httpAuthPassword: PASSWORD });
    const ids = await hooks.ensure(['deal', 'person', 'note', 'deal_history', 'currency']);
    const mine = ours(sim, subscriptionUrl);
    expect(mine.map((w) => w.eventObject).sort()).toEqual(['deal', 'note', 'person']);
    expect(mine.every((w) => w.version === '2.0' && w.eventAction === '*' && w.httpAuthUser === USER && w.httpAuthPassword === PASSWORD)).toBe(true);
    expect([...ids].sort()).toEqual(mine.map((w) => w.id).sort());
    expect(ids.has(adminMade.id)).toBe(true);
    expect(sim.store.webhooks.get(stale.id)).toBeUndefined();
    // What the producer POSTs is an addWebhookRequest as the official spec defines it.
    const valid = compileV1(v1RequestSchema('addWebhook'));
    expect(sent).toHaveLength(2);
    for (const body of sent) expect(valid(body), JSON.stringify(valid.errors)).toBe(true);
    const again = new Set(await hooks.ensure(['deal', 'person', 'note']));
    expect(again).toEqual(new Set(ids));
    // Fewer tables: the webhook of the entity no longer synced goes.
    await hooks.ensure(['deal']);
    expect(ours(sim, subscriptionUrl).map((w) => w.eventObject)).toEqual(['deal']);
    expect(await hooks.remove()).toBe(1);
    expect(ours(sim, subscriptionUrl)).toEqual([]);
    expect(sim.store.webhooks.get(other.id)).toBeDefined();
  }, 60_000); // parsing the 1.7 MB v1 spec for the request check takes seconds on a loaded machine

  it('a generated password: nothing is reused (the old webhooks carry another password)', async () => {
    const { sim, hooks, subscriptionUrl } = await setup({ generatedPassword: true });
    const before = sim.store.webhooks.create({ ownerId: 1, userId: 1, eventAction: '*', eventObject: 'deal', subscriptionUrl, version: '2.0', name: 'last start', httpAuthUser: USER, httpAuthPassword: 'whatever-it-was' });
    await hooks.ensure(['deal']);
    const mine = ours(sim, subscriptionUrl);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.id).not.toBe(before.id);
  });

  it('POST retried after a 503; an answer lost after the write leaves a duplicate the next ensure() deletes', async () => {
    const { sim, hooks, subscriptionUrl } = await setup();
    sim.faults.add({ kind: 'status', status: 503, operation: 'addWebhook', nth: 1 });
    await hooks.ensure(['deal']);
    expect(ours(sim, subscriptionUrl)).toHaveLength(1);
    await hooks.remove();
    sim.faults.clear();
    sim.faults.add({ kind: 'drop', after: true, operation: 'addWebhook', nth: 1 });
    await hooks.ensure(['deal']);
    expect(ours(sim, subscriptionUrl)).toHaveLength(2); // the lost answer's webhook exists too
    await hooks.ensure(['deal']);
    const left = ours(sim, subscriptionUrl);
    expect(left).toHaveLength(1);
    expect([...hooks.knownIds()]).toEqual([left[0]!.id]);
  });
});

describe('the receiver', () => {
  it('turns the simulator\'s deliveries into hints {table, id, action}, nothing of the body\'s data', async () => {
    const { sim, hooks, hints, metrics } = await setup();
    await hooks.ensure(['deal', 'person', 'note']);
    const api = client(sim);
    // Settled after each write: deliveries through different webhooks may overtake each other.
    await api.patch('/api/v2/deals/2', { title: 'changed' });
    await sim.webhooks.settled();
    const person = await api.post<{ data: { id: number } }>('/api/v2/persons', { name: 'Hinted' });
    await sim.webhooks.settled();
    await api.del('/api/v2/deals/3');
    await sim.webhooks.settled();
    expect(hints.map((h) => [h.table, h.id, h.action])).toEqual([['deal', 2, 'change'], ['person', person.body.data.id, 'create'], ['deal', 3, 'delete']]);
    for (const h of hints) expect(Object.keys(h).sort()).toEqual(['action', 'changedAtMs', 'id', 'receivedAtMs', 'table', 'webhookId']);
    expect(hints[0]!.changedAtMs).toBe(sim.clock.nowMs());
    expect(await count(metrics, 'webhooksReceived', { table: 'deal' })).toBe(2);
    expect(await count(metrics, 'webhooksReceived', { table: 'person', action: 'create' })).toBe(1);
    expect(sim.webhooks.stats()).toMatchObject({ succeeded: 3, failed: 0 });
  });

  it('refuses and counts forged requests: no or wrong credentials, unknown webhook id (401), not a v2 body (400)', async () => {
    const { sim, hooks, hints, metrics, subscriptionUrl } = await setup();
    const [id] = [...(await hooks.ensure(['deal']))];
    const body = (webhookId: number) => ({ meta: { action: 'change', entity: 'deal', entity_id: 1, webhook_id: webhookId, version: '2.0' }, data: { id: 1, title: 'forged' }, previous: null });
    expect((await post(subscriptionUrl, body(id!), null)).status).toBe(401);
    expect((await post(subscriptionUrl, body(id!), `${USER}:wrong-password-of-same-length!!`)).status).toBe(401);
    expect((await post(subscriptionUrl, body(id!), `${USER}x:${PASSWORD}`)).status).toBe(401);
    const wrong = await post(subscriptionUrl, body(id!), 'x');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await post(subscriptionUrl, body(id! + 1000), `${USER}:${PASSWORD}`)).status).toBe(401);
    expect((await post(subscriptionUrl, { meta: { action: 'merge' } }, `${USER}:${PASSWORD}`)).status).toBe(400);
    expect((await fetch(subscriptionUrl, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` }, body: '{not json' })).status).toBe(400);
    expect(hints).toEqual([]);
    expect(await count(metrics, 'webhooksRefused', { reason: 'credentials' })).toBe(4);
    expect(await count(metrics, 'webhooksRefused', { reason: 'unknown_webhook' })).toBe(1);
    expect(await count(metrics, 'webhooksRefused', { reason: 'malformed' })).toBe(2);
    // A genuine one with forged data is only a hint: the table, id and action, never the title.
    expect((await post(subscriptionUrl, body(id!), `${USER}:${PASSWORD}`)).status).toBe(200);
    expect(hints).toEqual([expect.objectContaining({ table: 'deal', id: 1, action: 'change' })]);
    expect(JSON.stringify(hints)).not.toContain('forged');
    expect(sim.store.deals.get(1)!.title).not.toBe('forged');
  });

  it('a subscription registered with other credentials gets 401s, and the simulator retries them per schedule', async () => {
    const { sim, hooks, subscriptionUrl, metrics } = await setup();
    await hooks.ensure(['deal']);
    sim.store.webhooks.create({ ownerId: 1, userId: 1, eventAction: '*', eventObject: 'deal', subscriptionUrl, version: '2.0', name: 'forged', httpAuthUser: USER, httpAuthPassword: 'not-the-password-at-all' });
    sim.store.deals.update(1, { title: 'x' });
    await sim.webhooks.settled();
    expect(sim.webhooks.attempts.map((a) => a.status).sort()).toEqual([200, 401]);
    sim.clock.advance(3000);
    sim.webhooks.runDue();
    await sim.webhooks.settled();
    expect(sim.webhooks.attempts.filter((a) => a.status === 401).map((a) => a.attempt)).toEqual([1, 2]);
    expect(await count(metrics, 'webhooksRefused', { reason: 'credentials' })).toBe(2);
  });
});

describe('bursts', () => {
  it('hints for a busy table fold into exactly one more pass; a hint after the passes starts a new one', async () => {
    const gates: (() => void)[] = [];
    const started: string[] = [];
    const c = new HintCoalescer(async (table) => {
      started.push(table);
      await new Promise<void>((r) => gates.push(r));
    });
    const tick = () => new Promise((r) => setTimeout(r, 5));
    const hint = (table: string, id: number): WebhookHint => ({ table, id, action: 'change', webhookId: 1, changedAtMs: undefined, receivedAtMs: 0 });
    c.hint(hint('deal', 1));
    for (let i = 2; i <= 50; i++) c.hint(hint('deal', i));
    c.hint(hint('person', 1));
    expect(started).toEqual(['deal', 'person']);
    gates.shift()!(); // deal's first pass ends: the 49 hints it did not see get one more
    gates.shift()!(); // person's only pass ends
    await tick();
    expect(started).toEqual(['deal', 'person', 'deal']);
    gates.shift()!();
    await c.idle();
    expect(c.passes.get('deal')).toBe(2);
    c.hint(hint('deal', 51));
    await tick();
    expect(started).toEqual(['deal', 'person', 'deal', 'deal']);
    gates.shift()!();
    await c.idle();
    expect(Object.fromEntries(c.passes)).toEqual({ deal: 3, person: 1 });
  });

  it('WEBHOOK_MIN_PASS_GAP_MS: passes of a table start at least that far apart; other tables are not held', async () => {
    const starts: Array<[string, number]> = [];
    const c = new HintCoalescer(async (table) => void starts.push([table, performance.now()]), undefined, 150);
    const hint = (table: string): WebhookHint => ({ table, id: 1, action: 'change', webhookId: 1, changedAtMs: undefined, receivedAtMs: 0 });
    c.hint(hint('deal'));
    await c.idle();
    c.hint(hint('deal'));
    c.hint(hint('person'));
    await c.idle();
    const deal = starts.filter(([t]) => t === 'deal').map(([, at]) => at);
    expect(deal).toHaveLength(2);
    expect(deal[1]! - deal[0]!).toBeGreaterThanOrEqual(145);
    // person's first pass did not wait for deal's gap.
    expect(starts.find(([t]) => t === 'person')![1] - deal[0]!).toBeLessThan(100);
  });
});

describe('WEBHOOK_* settings', () => {
  it('off without WEBHOOK_PUBLIC_URL; checked and named when set', () => {
    expect(loadWebhookSettings({}, 'c')).toBeUndefined();
    const s = loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://cdc.example.com/hooks', WEBHOOK_PASSWORD: PASSWORD }, 'c')!;
    expect(s).toMatchObject({ publicUrl: 'https://cdc.example.com/hooks', port: 9480, host: '0.0.0.0', user: 'pipedrive-cdc-c', password: PASSWORD, generatedPassword: false });
    const g = loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://cdc.example.com/hooks' }, 'c')!;
    expect(g.generatedPassword).toBe(true);
    expect(g.password.length).toBeGreaterThanOrEqual(32);
    expect(() => loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'http://cdc.example.com/hooks' }, 'c')).toThrow(/WEBHOOK_PUBLIC_URL: .*plain http/);
    expect(loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'http://cdc.example.com/hooks' }, 'c', true)).toBeDefined();
    expect(() => loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://x.example', WEBHOOK_PASSWORD: 'short' }, 'c')).toThrow(/WEBHOOK_PASSWORD: too short/);
    expect(() => loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://x.example', WEBHOOK_USER: 'a:b' }, 'c')).toThrow(/WEBHOOK_USER: must not contain/);
    expect(() => loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://x.example', WEBHOOK_PORT: '70000' }, 'c')).toThrow(/WEBHOOK_PORT/);
    expect(() => loadWebhookSettings({ WEBHOOK_PASSWORD: PASSWORD }, 'c')).toThrow(/WEBHOOK_PUBLIC_URL: required/);
    // WEBHOOK_HOST: the receiver's bind address (127.0.0.1 behind a reverse proxy on the same host).
    expect(loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://x.example', WEBHOOK_HOST: '127.0.0.1' }, 'c')!.host).toBe('127.0.0.1');
    expect(() => loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://x.example', WEBHOOK_HOST: 'a b' }, 'c')).toThrow(/WEBHOOK_HOST: must be an IP address or host name/);
    expect(() => loadWebhookSettings({ WEBHOOK_HOST: '127.0.0.1' }, 'c')).toThrow(/WEBHOOK_PUBLIC_URL: required/);
    expect(s.minPassGapMs).toBe(0);
    expect(loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://x.example', WEBHOOK_MIN_PASS_GAP_MS: '2000' }, 'c')!.minPassGapMs).toBe(2000);
    expect(() => loadWebhookSettings({ WEBHOOK_PUBLIC_URL: 'https://x.example', WEBHOOK_MIN_PASS_GAP_MS: '-1' }, 'c')).toThrow(/WEBHOOK_MIN_PASS_GAP_MS: must be 0 or more/);
  });

  it('part of the producer configuration (env and config file), the password never in describeConfig', () => {
    const base = { KAFKA_BROKERS: 'localhost:9092', SCHEMA_REGISTRY_URL: 'http://localhost:8081', PIPEDRIVE_API_TOKEN: 'tok' };
    const c = loadProducerConfig({ ...base, WEBHOOK_PUBLIC_URL: 'https://cdc.example.com/hooks', WEBHOOK_PASSWORD: PASSWORD, WEBHOOK_PORT: '9999' });
    expect(c.webhooks).toMatchObject({ publicUrl: 'https://cdc.example.com/hooks', port: 9999, user: 'pipedrive-cdc-pipedrive-cdc' });
    expect(describeConfig(c)).not.toContain(PASSWORD);
    expect(JSON.parse(describeConfig(c)).webhooks).toEqual({ publicUrl: 'https://cdc.example.com/hooks', port: 9999, user: 'pipedrive-cdc-pipedrive-cdc', password: 'set' });
    expect(loadProducerConfig(base).webhooks).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), 'webhook-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ kafka: { brokers: 'localhost:9092' }, schemaRegistry: { url: 'http://localhost:8081' },
      connectors: [{ name: 'acme', pipedrive: { apiToken: 'tok' }, webhookPublicUrl: 'https://cdc.example.com/acme', webhookPort: 9481, webhookPassword: PASSWORD }] }));
    const [fromFile] = loadProducerConfigs(file, {});
    expect(fromFile!.webhooks).toMatchObject({ publicUrl: 'https://cdc.example.com/acme', port: 9481, user: 'pipedrive-cdc-acme', generatedPassword: false });
  });

  it('several connectors: each needs its own port and public URL (one set in the environment covers all: refused)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-config-'));
    const write = (connectors: object[]) => {
      const file = join(dir, `c${Math.random()}.json`);
      writeFileSync(file, JSON.stringify({ kafka: { brokers: 'localhost:9092' }, schemaRegistry: { url: 'http://localhost:8081' }, connectors }));
      return file;
    };
    const acme = { name: 'acme', pipedrive: { apiToken: 'a' }, webhookPublicUrl: 'https://cdc.example.com/acme', webhookPort: 9481, webhookPassword: PASSWORD };
    const globex = { name: 'globex', pipedrive: { apiToken: 'g' }, webhookPublicUrl: 'https://cdc.example.com/globex', webhookPort: 9482, webhookPassword: PASSWORD };
    expect(loadProducerConfigs(write([acme, globex]), {}).map((c) => c.webhooks?.port)).toEqual([9481, 9482]);
    expect(() => loadProducerConfigs(write([acme, { ...globex, webhookPort: 9481 }]), {})).toThrow(/connectors\[1\]\.webhookPort: the webhook port 9481 is also connectors\[0\]'s \("acme"\); each connector with webhooks needs its own WEBHOOK_PORT/);
    expect(() => loadProducerConfigs(write([acme, globex]), { WEBHOOK_PORT: '9500' })).toThrow(/connectors\[1\]\.webhookPort: the webhook port 9500/);
    expect(() => loadProducerConfigs(write([acme, { ...globex, webhookPublicUrl: 'https://CDC.example.com/acme/' }]), {})).toThrow(/connectors\[1\]\.webhookPublicUrl: the webhook public URL is also connectors\[0\]'s/);
    // Port 0 (any free port) may repeat.
    expect(loadProducerConfigs(write([{ ...acme, webhookPort: 0 }, { ...globex, webhookPort: 0 }]), {})).toHaveLength(2);
  });
});
