/**
 * Webhook deliveries of the local Pipedrive, as a real subscriber sees them: a local HTTP receiver gets
 * the v2 bodies with basic auth; retries follow Pipedrive's 3/30/150 s schedule on the sim clock; the
 * fault switches drop, delay, duplicate and reorder deliveries as configured. Oracles: the simulator's
 * store (what the entity is after the write) and the documented v2 meta fields (docs/pipedrive-api.md §b7).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSimArgs } from '../../src/simulator/cli.ts';
import type { Simulator, SimulatorOptions } from '../../src/simulator/server.ts';
import { client, startFrozen, type DataBody } from './helpers.ts';
import { v1Client, type Json } from './v1-helpers.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: { meta: Json; data: Json; previous: Json | null };
  atMs: number;
}

/** A subscriber: records every POST; answers `status()` (default 200), or never when it returns null. */
async function receiver(status: (n: number) => number | null = () => 200): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'], atMs: performance.now() });
      const s = status(got.length);
      if (s !== null) res.writeHead(s).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/pipedrive`,
    got,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function setup(opts: SimulatorOptions = {}, status?: (n: number) => number | null) {
  const sim = await startFrozen({ deals: 3, ...opts });
  cleanups.push(() => sim.close());
  const rx = await receiver(status);
  cleanups.push(rx.close);
  return { sim, rx, v1: v1Client(sim), v2: client(sim) };
}
async function subscribe(sim: Simulator, url: string, extra: Json = {}): Promise<Json> {
  const r = await v1Client(sim).post<{ data: Json }>('/webhooks', { subscription_url: url, event_action: '*', event_object: 'deal', name: 'test', http_auth_user: 'hook-user', http_auth_password: 's3cret:x', ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data;
}
const until = async (what: string, ok: () => boolean, ms = 5000): Promise<void> => {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/** The v2 meta fields the guide documents (docs/pipedrive-api.md §b7). */
const META_FIELDS = ['action', 'entity', 'entity_id', 'id', 'company_id', 'user_id', 'correlation_id', 'timestamp', 'version', 'webhook_id',
  'webhook_owner_id', 'change_source', 'is_bulk_edit', 'permitted_user_ids', 'attempt', 'host', 'type'];

describe('/v1/webhooks', () => {
  it('add, list (10 tokens), delete; at most 40 per user; bad fields named', async () => {
    const { sim, rx, v1 } = await setup();
    const hook = await subscribe(sim, rx.url);
    expect(hook).toMatchObject({ subscription_url: rx.url, event_action: '*', event_object: 'deal', version: '2.0', http_auth_user: 'hook-user', is_active: 1 });
    const remaining = (r: { headers: Headers }) => Number(r.headers.get('x-daily-ratelimit-token-remaining'));
    const a = await v1.get<{ data: Json[] }>('/webhooks');
    const b = await v1.get<{ data: Json[] }>('/webhooks');
    expect(remaining(a) - remaining(b)).toBe(10);
    expect(b.body.data.map((w) => w['id'])).toEqual([hook['id']]);
    for (let i = 1; i < 40; i++) await subscribe(sim, `${rx.url}/${i}`);
    const over = await v1.post('/webhooks', { subscription_url: rx.url, event_action: '*', event_object: '*', name: 'one too many' });
    expect(over.status).toBe(400);
    for (const [field, value] of [['event_object', 'dealz'], ['subscription_url', 'ftp://x'], ['version', '3.0']] as const) {
      const r = await v1.post('/webhooks', { subscription_url: rx.url, event_action: '*', event_object: 'deal', name: 'n', [field]: value });
      expect(r.status).toBe(400);
      expect(Object.keys((r.body as { errors: Json }).errors)).toEqual([field]);
    }
    expect((await v1.del(`/webhooks/${hook['id']}`)).status).toBe(200);
    expect((await v1.del(`/webhooks/${hook['id']}`)).status).toBe(404);
    expect((await v1.get<{ data: Json[] }>('/webhooks')).body.data).toHaveLength(39);
  });
});

describe('deliveries', () => {
  it('create, change, delete of a deal: v2 bodies with the documented meta, basic auth, data as stored, previous = changed fields', async () => {
    const { sim, rx, v2 } = await setup();
    const hook = await subscribe(sim, rx.url);
    await subscribe(sim, `${rx.url}/persons`, { event_object: 'person' });
    const created = await v2.post<DataBody>('/api/v2/deals', { title: 'Hooked', value: 10 });
    const id = created.body.data.id;
    sim.clock.advance(1000);
    await v2.patch(`/api/v2/deals/${id}`, { title: 'Hooked 2' });
    await v2.del(`/api/v2/deals/${id}`);
    await sim.webhooks.settled();
    expect(rx.got.map((g) => `${g.body.meta['action']} ${g.body.meta['entity']} ${g.body.meta['entity_id']}`)).toEqual([`create deal ${id}`, `change deal ${id}`, `delete deal ${id}`]);
    for (const g of rx.got) {
      expect(Object.keys(g.body).sort()).toEqual(['data', 'meta', 'previous']);
      expect(Object.keys(g.body.meta).sort()).toEqual([...META_FIELDS].sort());
      expect(g.body.meta).toMatchObject({ version: '2.0', webhook_id: hook['id'], webhook_owner_id: 1, company_id: 1, attempt: 1 });
      expect(g.headers['authorization']).toBe(`Basic ${Buffer.from('hook-user:s3cret:x').toString('base64')}`);
      expect(g.headers['content-type']).toMatch(/application\/json/);
    }
    const [c, u, d] = rx.got.map((g) => g.body);
    expect(c!.previous).toBeNull();
    expect(c!.data).toMatchObject({ id, title: 'Hooked', value: 10 });
    expect(u!.data['title']).toBe('Hooked 2');
    expect(u!.previous).toEqual({ title: 'Hooked' }); // update_time is not a change of its own (the journal ignores it, as the changelog does)
    expect(d!.data).toMatchObject({ id, is_deleted: true });
    expect(sim.store.deals.getRow(id)!.data.is_deleted).toBe(true);
    expect(new Set(rx.got.map((g) => g.body.meta['id'])).size).toBe(3);
    expect(Date.parse(String(c!.meta['timestamp']))).toBe(sim.clock.nowMs() - 1000);
  });

  it('retries a 500 after 3, 30 and 150 s of sim time, then gives up; a success stops the retries', async () => {
    const { sim, rx, v2 } = await setup({}, () => 500);
    await subscribe(sim, rx.url);
    await v2.post('/api/v2/deals', { title: 'Fails' });
    await sim.webhooks.settled();
    expect(rx.got).toHaveLength(1);
    for (const [wait, attempts] of [[3000, 2], [30_000, 3], [150_000, 4]] as const) {
      sim.clock.advance(wait - 1);
      sim.webhooks.runDue();
      await sim.webhooks.settled();
      expect(rx.got).toHaveLength(attempts - 1); // not a millisecond early
      sim.clock.advance(1);
      await until(`attempt ${attempts}`, () => sim.webhooks.attempts.length === attempts); // the ticker notices the clock
      await sim.webhooks.settled();
    }
    await sim.webhooks.settled();
    expect(rx.got.map((g) => g.body.meta['attempt'])).toEqual([1, 2, 3, 4]);
    expect(new Set(rx.got.map((g) => g.body.meta['id'])).size).toBe(1);
    sim.clock.advance(3_600_000);
    sim.webhooks.runDue();
    await sim.webhooks.settled();
    expect(rx.got).toHaveLength(4);
    expect(sim.webhooks.stats()).toMatchObject({ created: 1, attempts: 4, failed: 4, gaveUp: 1, succeeded: 0 });
    const listed = (await v1Client(sim).get<{ data: Json[] }>('/webhooks')).body.data[0]!;
    expect(listed['last_http_status']).toBe(500);
  });

  it('a subscriber that never answers times out (status 0) and is retried', async () => {
    const { sim, rx, v2 } = await setup({ webhooks: { timeoutMs: 200 } }, (n) => (n === 1 ? null : 204));
    await subscribe(sim, rx.url);
    await v2.post('/api/v2/deals', { title: 'Slow' });
    await until('the timeout', () => sim.webhooks.attempts.length === 1, 3000);
    expect(sim.webhooks.attempts[0]!.status).toBe(0);
    sim.clock.advance(3000);
    await until('the retry', () => sim.webhooks.stats().succeeded === 1);
    expect(rx.got.map((g) => g.body.meta['attempt'])).toEqual([1, 2]);
  });

  it('no credentials on the webhook: no Authorization header; deleted webhook: no more deliveries', async () => {
    const { sim, rx, v2, v1 } = await setup();
    const hook = await subscribe(sim, rx.url, { http_auth_user: null, http_auth_password: null });
    await v2.patch('/api/v2/deals/1', { title: 'x' });
    await sim.webhooks.settled();
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]!.headers['authorization']).toBeUndefined();
    await v1.del(`/webhooks/${hook['id']}`);
    await v2.patch('/api/v2/deals/1', { title: 'y' });
    await sim.webhooks.settled();
    expect(rx.got).toHaveLength(1);
  });
});

describe('delivery faults', () => {
  const changes = async (sim: Simulator, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) sim.store.deals.update(1 + (i % 3), { title: `t${i}` });
    await sim.webhooks.settled();
  };
  const titles = (rx: { got: Received[] }) => rx.got.map((g) => String(g.body.data['title']));

  it('drop: the nth deliveries never arrive, and are not retried', async () => {
    const { sim, rx } = await setup({ webhooks: { faults: [{ kind: 'drop', nth: [2, 4] }] } });
    await subscribe(sim, rx.url);
    await changes(sim, 5);
    expect(titles(rx)).toEqual(['t0', 't2', 't4']);
    sim.clock.advance(600_000);
    sim.webhooks.runDue();
    await sim.webhooks.settled();
    expect(rx.got).toHaveLength(3);
  });

  it('drop with a probability: as many lost as the rule says it fired, about the rate asked', async () => {
    const { sim, rx } = await setup({ webhooks: { faults: [{ kind: 'drop', probability: 0.2, seed: 7 }] } });
    await subscribe(sim, rx.url);
    await changes(sim, 150);
    const fired = sim.webhooks.faults.stats().rules[0]!.fired;
    expect(rx.got).toHaveLength(150 - fired);
    expect(fired).toBeGreaterThan(15);
    expect(fired).toBeLessThan(45);
    // The same seed drops the same deliveries.
    const again = await setup({ webhooks: { faults: [{ kind: 'drop', probability: 0.2, seed: 7 }] } });
    await subscribe(again.sim, again.rx.url);
    await changes(again.sim, 150);
    expect(titles(again.rx).sort()).toEqual(titles(rx).sort());
  }, 30_000);

  it('duplicate: the same body (same meta.id) twice', async () => {
    const { sim, rx } = await setup({ webhooks: { faults: [{ kind: 'duplicate', every: 2 }] } });
    await subscribe(sim, rx.url);
    await changes(sim, 4);
    expect(titles(rx).sort()).toEqual(['t0', 't1', 't1', 't2', 't3', 't3']);
    const ids = rx.got.map((g) => g.body.meta['id']);
    expect(new Set(ids).size).toBe(4);
  });

  it('reorder: a held delivery arrives after the next one; alone, after holdMs', async () => {
    const { sim, rx } = await setup({ webhooks: { faults: [{ kind: 'reorder', nth: [1, 3], holdMs: 100 }] } });
    await subscribe(sim, rx.url);
    sim.store.deals.update(1, { title: 'first' });
    sim.store.deals.update(2, { title: 'second' });
    await sim.webhooks.settled();
    expect(titles(rx)).toEqual(['second', 'first']);
    const t = performance.now();
    sim.store.deals.update(3, { title: 'alone' });
    await sim.webhooks.settled();
    expect(titles(rx)).toEqual(['second', 'first', 'alone']);
    expect(performance.now() - t).toBeGreaterThanOrEqual(90);
  });

  it('delay: the delivery arrives late (real time), others not; rules at runtime through /_sim/webhooks/faults', async () => {
    const { sim, rx } = await setup();
    await subscribe(sim, rx.url);
    const add = await fetch(`${sim.baseUrl}/_sim/webhooks/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'delay', delayMs: 200, nth: 1 }) });
    expect(add.status).toBe(201);
    const bad = await fetch(`${sim.baseUrl}/_sim/webhooks/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'delay' }) });
    expect(bad.status).toBe(400);
    const t = performance.now();
    sim.store.deals.update(1, { title: 'late' });
    sim.store.deals.update(2, { title: 'prompt' });
    await until('prompt', () => rx.got.length >= 1);
    expect(titles(rx)[0]).toBe('prompt');
    await sim.webhooks.settled();
    expect(titles(rx)).toEqual(['prompt', 'late']);
    expect(rx.got[1]!.atMs - t).toBeGreaterThanOrEqual(190);
    const state = (await (await fetch(`${sim.baseUrl}/_sim/webhooks`)).json()) as { data: { faults: { injected: Json } } };
    expect(state.data.faults.injected['delay']).toBe(1);
  });

  it('--webhook-faults: parsed into options; a typo is a usage error', () => {
    expect(parseSimArgs(['--webhook-faults', '{"kind":"drop","probability":0.2}'])!.webhooks!.faults).toEqual([{ kind: 'drop', probability: 0.2 }]);
    expect(() => parseSimArgs(['--webhook-faults', '{"kind":"lose"}'])).toThrow(/--webhook-faults: kind must be one of/);
  });
});
