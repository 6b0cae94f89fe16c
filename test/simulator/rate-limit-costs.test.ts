import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OPENAPI_DIR } from '../../spec/paths.ts';
import {
  COSTS_JSON_PATH, costOf, costsFromSpecs, formatCostTable, specDir, type CostTable,
} from '../../src/simulator/http/rate-limit-costs.ts';
import type { Simulator } from '../../src/simulator/server.ts';
import { client, startFrozen, type DataBody, type Reply } from './helpers.ts';

/** x-token-cost of an operationId, read straight from a spec (independently of the simulator's loader). */
type SpecDoc = { paths: Record<string, Record<string, Record<string, unknown>>> };
const specs = new Map<string, SpecDoc>();
function specCost(file: string, operationId: string): number {
  let doc = specs.get(file);
  if (!doc) specs.set(file, (doc = parse(readFileSync(join(specDir(), file), 'utf8')) as SpecDoc));
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) if (op['operationId'] === operationId) return op['x-token-cost'] as number;
  }
  throw new Error(`${operationId} not in ${file}`);
}

const remaining = (r: Reply): number => Number(r.headers.get('x-daily-ratelimit-token-remaining'));

describe('token costs from the OpenAPI specs', () => {
  it('the shipped token-costs.json is what the generator makes from the specs', async () => {
    const fromSpecs = await costsFromSpecs();
    expect(Object.keys(fromSpecs.v1).length).toBeGreaterThan(200);
    expect(Object.keys(fromSpecs.v2).length).toBeGreaterThan(150);
    expect(readFileSync(COSTS_JSON_PATH, 'utf8'), 'rerun: npx tsx src/simulator/tools/gen-token-costs.ts').toBe(formatCostTable(fromSpecs));
  }, 30_000);

  it('keeps v1 and v2 prices apart (shared operationIds cost differently)', () => {
    const table = JSON.parse(readFileSync(COSTS_JSON_PATH, 'utf8')) as CostTable;
    expect(costOf(table, 'v1', 'getDealFields')).toBe(20);
    expect(costOf(table, 'v2', 'getDealFields')).toBe(10);
    expect(costOf(table, 'v2', 'getRecents')).toBe(20); // only in v1: found there
    expect(costOf(table, 'v2', 'noSuchOperation')).toBeUndefined();
  });

  it('finds the specs through PIPEDRIVE_OPENAPI_DIR, else in the spec folder of the repository', () => {
    expect(specDir({ PIPEDRIVE_OPENAPI_DIR: '/opt/specs' })).toBe('/opt/specs');
    expect(specDir({})).toBe(OPENAPI_DIR);
  });
});

describe('charging', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.close();
  });

  it('charges each deal operation its spec x-token-cost (getDeals 10, getDeal 1, addDeal 5, …)', async () => {
    sim = await startFrozen({ deals: 5 });
    const api = client(sim);
    const calls: [string, () => Promise<Reply>][] = [
      ['getDeals', () => api.get('/api/v2/deals', { limit: 500 })],
      ['getDeal', () => api.get('/api/v2/deals/1')],
      ['addDeal', () => api.post('/api/v2/deals', { title: 'new' })],
      ['updateDeal', () => api.patch('/api/v2/deals/2', { value: 5 })],
      ['deleteDeal', () => api.del('/api/v2/deals/3')],
      ['getPersons', () => api.get('/api/v2/persons')],
      ['getOrganizations', () => api.get('/api/v2/organizations')],
    ];
    let before = 30_000;
    const charged: Record<string, number> = {};
    for (const [op, call] of calls) {
      const r = await call();
      expect(r.status, op).toBe(200);
      charged[op] = before - remaining(r);
      before = remaining(r);
    }
    const expected = Object.fromEntries(calls.map(([op]) => [op, specCost('pipedrive-v2.yml', op)]));
    expect(expected).toEqual({ getDeals: 10, getDeal: 1, addDeal: 5, updateDeal: 5, deleteDeal: 3, getPersons: 10, getOrganizations: 10 });
    expect(charged).toEqual(expected);

    const stats = ((await (await fetch(`${sim.baseUrl}/_sim/rate-limit`)).json()) as DataBody<{ byOperation: Record<string, { tokens: number }>; tokensSpentToday: number }>).data;
    expect(stats.tokensSpentToday).toBe(10 + 1 + 5 + 5 + 3 + 10 + 10);
    expect(stats.byOperation['getDeals']).toEqual({ requests: 1, tokens: 10 });
  }, 30_000);

  it('prices by the API version called: v1 getDealFields 20, v2 getDealFields 10, v1 getRecents 20', async () => {
    sim = await startFrozen({ deals: 1 });
    const api = client(sim);
    const calls: [string, string, string][] = [
      ['pipedrive-v1.yml', 'getDealFields', '/v1/dealFields'],
      ['pipedrive-v1.yml', 'getDealFields', '/api/v1/dealFields'],
      ['pipedrive-v2.yml', 'getDealFields', '/api/v2/dealFields'],
      ['pipedrive-v1.yml', 'getRecents', '/v1/recents?since_timestamp=2026-01-15%2000%3A00%3A00'],
    ];
    let before = 30_000;
    for (const [spec, op, path] of calls) {
      const r = await api.get(path);
      expect(r.status, path).toBe(200);
      expect(before - remaining(r), path).toBe(specCost(spec, op));
      before = remaining(r);
    }
    expect(30_000 - before).toBe(20 + 20 + 10 + 20);
  }, 30_000);

  it('charges failed calls that reached the API (400, 404) but not refused ones', async () => {
    sim = await startFrozen({ deals: 1, rateLimit: { dailyBudget: 12 } });
    const api = client(sim);
    expect(remaining(await api.get('/api/v2/deals', { limit: 0 }))).toBe(2);
    expect(remaining(await api.get('/api/v2/deals/999'))).toBe(1);
    expect((await api.get('/api/v2/deals')).status).toBe(429);
    expect(sim.rateLimit.stats()).toMatchObject({ tokensSpentToday: 11, requests: 2 });
  });

  it('prices overrides and unknown operations by option', async () => {
    sim = await startFrozen({ rateLimit: { costs: { getDeal: 7 }, defaultCost: 3 } });
    expect(sim.rateLimit.costOf('getDeal')).toBe(7);
    expect(sim.rateLimit.costOf('getDeals')).toBe(10);
    expect(sim.rateLimit.costOf('someSimulatorOnlyCall')).toBe(3);
  });
});
