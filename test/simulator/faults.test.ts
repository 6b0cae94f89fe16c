// Every fault kind as a real HTTP client (undici, via fetch) sees it.
import { afterEach, describe, expect, it } from 'vitest';
import { parseSimArgs } from '../../src/simulator/cli.ts';
import type { FaultRuleInput } from '../../src/simulator/http/faults-rules.ts';
import type { Simulator, SimulatorOptions } from '../../src/simulator/server.ts';
import { client, startFrozen, type DataBody, type ErrorBody, type ListBody } from './helpers.ts';

let started: Simulator[] = [];
const start = async (opts: SimulatorOptions = {}): Promise<Simulator> => {
  const s = await startFrozen({ deals: 4, ...opts });
  started.push(s);
  return s;
};
afterEach(async () => {
  await Promise.all(started.map((s) => s.close()));
  started = [];
});

const get = (sim: Simulator, path: string): Promise<Response> => fetch(`${sim.baseUrl}${path}`, { headers: { 'x-api-token': sim.token } });
const statuses = async (sim: Simulator, path: string, n: number): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(sim, path)).status);
  return out;
};
const admin = (sim: Simulator, method: string, path: string, body?: unknown): Promise<Response> =>
  fetch(`${sim.baseUrl}/_sim${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('fault kinds', () => {
  it('status: 500/502/503 with a Pipedrive JSON error body', async () => {
    const sim = await start();
    for (const status of [500, 502, 503]) {
      sim.faults.add({ kind: 'status', status, nth: 1 });
      const r = await get(sim, '/api/v2/deals');
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toMatch(/application\/json/);
      expect(await r.json()).toMatchObject({ success: false, error: expect.any(String) });
      sim.faults.clear();
    }
  });

  it('delay: the answer comes late but intact', async () => {
    const sim = await start({ faults: [{ kind: 'delay', delayMs: 150, operation: 'getDeal' }] });
    let t = performance.now();
    const slow = await get(sim, '/api/v2/deals/1');
    expect(performance.now() - t).toBeGreaterThanOrEqual(140);
    expect(((await slow.json()) as DataBody).data.id).toBe(1);
    t = performance.now();
    expect((await get(sim, '/api/v2/deals')).status).toBe(200);
    expect(performance.now() - t).toBeLessThan(140);
  });

  it('delay combines with another fault: a slow 503', async () => {
    const sim = await start({ faults: [{ kind: 'delay', delayMs: 100 }, { kind: 'status', status: 503 }] });
    const t = performance.now();
    expect((await get(sim, '/api/v2/deals')).status).toBe(503);
    expect(performance.now() - t).toBeGreaterThanOrEqual(90);
  });

  it('drop: the socket is destroyed; the client gets a socket error, not an answer', async () => {
    const sim = await start({ faults: [{ kind: 'drop', nth: 1 }] });
    const err = (await get(sim, '/api/v2/deals').catch((e: unknown) => e)) as Error & { cause?: { code?: string; message?: string } };
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('fetch failed');
    expect(err.cause?.code).toBe('UND_ERR_SOCKET');
    expect(err.cause?.message).toMatch(/other side closed/);
    expect((await get(sim, '/api/v2/deals')).status).toBe(200); // only the first
  });

  it('drop after: the write is applied, but the answer is lost', async () => {
    const sim = await start({ faults: [{ kind: 'drop', after: true, operation: 'addDeal' }] });
    const sent = fetch(`${sim.baseUrl}/api/v2/deals`, {
      method: 'POST',
      headers: { 'x-api-token': sim.token, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'written, never acknowledged' }),
    });
    await expect(sent).rejects.toThrow('fetch failed');
    const list = (await (await get(sim, '/api/v2/deals?sort_by=id&sort_direction=desc&limit=1')).json()) as ListBody;
    expect(list.data[0]?.title).toBe('written, never acknowledged');
  });

  it('truncate: 200 with the first half of the JSON body, which does not parse', async () => {
    const sim = await start();
    const full = await (await get(sim, '/api/v2/deals')).text();
    sim.faults.add({ kind: 'truncate', operation: 'getDeals' });
    const r = await get(sim, '/api/v2/deals');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    const text = await r.text();
    expect(text).toBe(full.slice(0, Math.floor(Buffer.byteLength(full) / 2)));
    expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
  });

  it('cloudflare403: an HTML block page from the edge, without the API\'s headers', async () => {
    const sim = await start({ faults: [{ kind: 'cloudflare403' }] });
    const r = await get(sim, '/api/v2/deals');
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8$/i);
    expect(r.headers.get('server')).toBe('cloudflare');
    expect(r.headers.get('x-ratelimit-remaining')).toBeNull();
    const html = await r.text();
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toMatch(/Sorry, you have been blocked/);
    await expect(Promise.resolve().then(() => JSON.parse(html) as unknown)).rejects.toThrow(SyntaxError);
  });
});

describe('scope and schedule', () => {
  it('scopes by operationId, path pattern and method', async () => {
    const sim = await start({
      faults: [
        { kind: 'status', status: 502, path: '/api/v2/deals/*', method: 'GET' },
        { kind: 'status', status: 503, operation: ['addDeal'] },
      ],
    });
    const api = client(sim);
    expect((await api.get('/api/v2/deals')).status).toBe(200);
    expect((await api.get('/api/v2/deals/1')).status).toBe(502);
    expect((await api.patch('/api/v2/deals/1', { title: 'ok' })).status).toBe(200);
    expect((await api.post('/api/v2/deals', { title: 'no' })).status).toBe(503);
  });

  it('fires on the nth request(s), every n, and at most `times`', async () => {
    const sim = await start({ faults: [{ kind: 'status', nth: [2, 4] }] });
    expect(await statuses(sim, '/api/v2/deals', 5)).toEqual([200, 500, 200, 500, 200]);
    sim.faults.clear();
    sim.faults.add({ kind: 'status', status: 503, every: 3, times: 2 });
    expect(await statuses(sim, '/api/v2/deals', 10)).toEqual([200, 200, 503, 200, 200, 503, 200, 200, 200, 200]);
    expect(sim.faults.list()[0]).toMatchObject({ matched: 10, fired: 2 });
  });

  it('fires only inside a window of the sim clock', async () => {
    const sim = await start({ faults: [{ kind: 'status', status: 503, from: '2026-01-15T12:00:10Z', until: '2026-01-15T12:00:20Z' }] });
    expect((await get(sim, '/api/v2/deals')).status).toBe(200);
    sim.clock.advance(10_000);
    expect((await get(sim, '/api/v2/deals')).status).toBe(503);
    sim.clock.advance(9_999);
    expect((await get(sim, '/api/v2/deals')).status).toBe(503);
    sim.clock.advance(1);
    expect((await get(sim, '/api/v2/deals')).status).toBe(200);
  });

  it('fires by probability from a seeded PRNG: same seed, same sequence', async () => {
    const rule: FaultRuleInput = { kind: 'status', status: 503, probability: 0.3, seed: 7 };
    const a = await start({ faults: [rule] });
    const b = await start({ faults: [rule] });
    const seqA = await statuses(a, '/api/v2/deals/1', 60);
    const seqB = await statuses(b, '/api/v2/deals/1', 60);
    expect(seqA).toEqual(seqB);
    const failures = seqA.filter((s) => s === 503).length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(35);
    const c = await start({ faults: [{ ...rule, seed: 8 }] });
    expect(await statuses(c, '/api/v2/deals/1', 60)).not.toEqual(seqA);
  });
});

describe('/_sim/faults admin and the CLI flag', () => {
  it('adds, lists, removes one and clears all over HTTP', async () => {
    const sim = await start();
    const added = await admin(sim, 'POST', '/faults', [{ id: 'slow', kind: 'delay', delayMs: 1 }, { kind: 'status', status: 502, operation: 'getDeal' }]);
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({ success: true, data: { ids: ['slow', 'fault-1'] } });
    expect((await get(sim, '/api/v2/deals/1')).status).toBe(502);

    const listed = (await (await admin(sim, 'GET', '/faults')).json()) as DataBody<{ rules: { rule: { id: string }; matched: number; fired: number }[]; injected: Record<string, number> }>;
    expect(listed.data.rules.map((r) => [r.rule.id, r.matched, r.fired])).toEqual([['slow', 1, 1], ['fault-1', 1, 1]]);
    expect(listed.data.injected).toMatchObject({ status: 1, delay: 1 });

    expect((await admin(sim, 'DELETE', '/faults/fault-1')).status).toBe(200);
    expect((await admin(sim, 'DELETE', '/faults/fault-1')).status).toBe(404);
    expect((await get(sim, '/api/v2/deals/1')).status).toBe(200);
    expect((await admin(sim, 'DELETE', '/faults')).status).toBe(200);
    expect(sim.faults.list()).toEqual([]);
  });

  it('rejects bad rules with 400 naming the field, adding none of a bad list', async () => {
    const sim = await start();
    const cases: [unknown, RegExp][] = [
      [{ kind: 'explode' }, /kind must be one of/],
      [{ kind: 'delay' }, /delayMs is required/],
      [{ kind: 'status', status: 200 }, /status must be an integer between 400 and 599/],
      [{ kind: 'status', probability: 2 }, /probability/],
      [{ kind: 'status', from: 'yesterday' }, /from must be an RFC 3339/],
      [{ kind: 'status', colour: 'red' }, /unknown fault rule field: colour/],
      [[{ kind: 'status' }, { kind: 'drop', nth: 0 }], /nth must be a positive integer/],
    ];
    for (const [body, message] of cases) {
      const r = await admin(sim, 'POST', '/faults', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(((await r.json()) as ErrorBody).error).toMatch(message);
    }
    expect(sim.faults.list()).toEqual([]);
  });

  it('--faults takes a rule or a list as JSON (repeatable) and validates it', () => {
    expect(parseSimArgs(['--faults', '{"kind":"status","status":503,"every":10}', '--faults=[{"kind":"drop","nth":1}]'])).toEqual({
      port: 8080,
      faults: [{ kind: 'status', status: 503, every: 10 }, { kind: 'drop', nth: 1 }],
    });
    expect(() => parseSimArgs(['--faults', '{kind: status}'])).toThrow(/option --faults: .*JSON/);
    expect(() => parseSimArgs(['--faults', '{"kind":"melt"}'])).toThrow(/option --faults: kind must be one of/);
  });
});
