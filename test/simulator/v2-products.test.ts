import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/server.ts';
import { installmentsOf } from '../../src/simulator/store/installments.ts';
import { client, startFrozen, T0_SEC, type Client, type ErrorBody } from './helpers.ts';
import { ids, iso, walk, type Item, type One, type Page } from './v2-helpers.ts';

let sim: Simulator;
let api: Client;

beforeEach(async () => {
  sim = await startFrozen();
  api = client(sim);
});
afterEach(async () => {
  await sim.close();
});

describe('products', () => {
  it('adds with 201, default price when prices are omitted, prices carry product_id', async () => {
    const plain = await api.post<One>('/api/v2/products', { name: 'Pencil' });
    expect(plain.status).toBe(201);
    expect(plain.body.data).toMatchObject({
      id: 1, name: 'Pencil', tax: 0, is_linkable: true, is_deleted: false, visible_to: 3, owner_id: 1, billing_frequency: 'one-time',
      billing_frequency_cycles: null, add_time: iso(T0_SEC), prices: [{ product_id: 1, price: 0, currency: 'USD', cost: 0, direct_cost: null, notes: null }],
    });
    const priced = await api.post<One>('/api/v2/products', { name: 'Pen', category: 3, prices: [{ currency: 'EUR', price: 2.5, cost: 1, direct_cost: 0.2 }, { currency: 'USD', price: 3 }] });
    expect(priced.body.data).toMatchObject({ category: '3', prices: [{ product_id: 2, currency: 'EUR', price: 2.5, cost: 1, direct_cost: 0.2 }, { product_id: 2, currency: 'USD', price: 3, cost: 0, direct_cost: null }] });
    for (const body of [{ name: 'x', prices: [{ currency: 'EUR', price: 1 }, { currency: 'EUR', price: 2 }] }, { name: 'x', billing_frequency: 'daily' }, { name: 'x', billing_frequency: 'one-time', billing_frequency_cycles: 3 }, { code: 'x' }, { name: 'x', prices: [{ currency: 'EUR' }] }]) {
      expect((await api.post<ErrorBody>('/api/v2/products', body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('sorts by name with cursors across equal names; updated_since and owner_id filter', async () => {
    const names = ['b', 'a', 'c', 'a', 'b'];
    names.forEach((name, i) => sim.store.products.insertAt(T0_SEC - 10, T0_SEC - 5 + i, { name, owner_id: (i % 2) + 1 }));
    for (const limit of [1, 2, 10]) {
      expect(ids((await walk(api, '/api/v2/products', { sort_by: 'name', limit })).rows)).toEqual([2, 4, 1, 5, 3]);
      expect(ids((await walk(api, '/api/v2/products', { sort_by: 'name', sort_direction: 'desc', limit })).rows)).toEqual([3, 5, 1, 4, 2]);
    }
    expect(ids((await walk(api, '/api/v2/products', { updated_since: iso(T0_SEC - 3) })).rows)).toEqual([3, 4, 5]);
    expect(ids((await walk(api, '/api/v2/products', { owner_id: 2 })).rows)).toEqual([2, 4]);
  });

  it('soft delete: 404 for writes, purged after 30 days', async () => {
    await api.post('/api/v2/products', { name: 'x' });
    expect((await api.del('/api/v2/products/1')).status).toBe(200);
    expect((await api.get<One>('/api/v2/products/1')).body.data).toMatchObject({ is_deleted: true });
    expect((await api.patch('/api/v2/products/1', { name: 'y' })).status).toBe(404);
    sim.clock.advance(30 * 24 * 3600 * 1000);
    expect((await api.get('/api/v2/products/1')).status).toBe(404);
  });
});

describe('deal products', () => {
  beforeEach(async () => {
    await api.post('/api/v2/products', { name: 'Licence', tax: 20, prices: [{ currency: 'USD', price: 100 }] });
    await api.post('/api/v2/products', { name: 'Support', prices: [{ currency: 'USD', price: 40 }] });
    await api.post('/api/v2/deals', { title: 'Deal A', value: 999 });
    await api.post('/api/v2/deals', { title: 'Deal B' });
  });

  it('attach, change and remove products; the deal value follows, update_time moves, writes are journaled', async () => {
    sim.clock.advance(1000);
    const a = await api.post<One>('/api/v2/deals/1/products', { product_id: 1, item_price: 100, quantity: 2, discount: 10 });
    expect(a.status).toBe(201);
    expect(a.body.data).toMatchObject({ id: 1, deal_id: 1, product_id: 1, name: 'Licence', sum: 180, tax: 20, currency: 'USD', order_nr: 1, quantity: 2, item_price: 100, discount: 10, discount_type: 'percentage', tax_method: 'inclusive', is_enabled: true, comments: '', add_time: iso(T0_SEC + 1) });
    await api.post('/api/v2/deals/1/products', { product_id: 2, item_price: 40, quantity: 1, tax: 10, tax_method: 'exclusive' });
    const deal = await api.get<One>('/api/v2/deals/1');
    expect(deal.body.data).toMatchObject({ value: 224, update_time: iso(T0_SEC + 1) });
    expect(sim.store.journal.of('deal', 1).at(-1)!.changes).toEqual([{ field: 'value', oldValue: 180, newValue: 224 }]);
    expect(sim.store.journal.of('dealProduct', 1).map((e) => e.action)).toEqual(['add']);

    sim.clock.advance(1000);
    const changed = await api.patch<One>('/api/v2/deals/1/products/1', { quantity: 3, is_enabled: false });
    expect(changed.body.data).toMatchObject({ quantity: 3, sum: 270, is_enabled: false, update_time: iso(T0_SEC + 2), add_time: iso(T0_SEC + 1) });
    expect((await api.get<One>('/api/v2/deals/1')).body.data['value']).toBe(44);
    expect((await api.del<One>('/api/v2/deals/1/products/2')).body).toEqual({ success: true, data: { id: 2 } });
    expect((await api.get<One>('/api/v2/deals/1')).body.data['value']).toBe(0);
    expect(ids((await walk(api, '/api/v2/deals/1/products')).rows)).toEqual([1]);
    expect((await api.del('/api/v2/deals/1/products/2')).status).toBe(404);
    expect((await api.patch('/api/v2/deals/2/products/1', { quantity: 1 })).status).toBe(404);
  });

  it('validates: required fields, unknown deal (404) or product (400), deleted product', async () => {
    expect((await api.post<ErrorBody>('/api/v2/deals/1/products', { product_id: 1, quantity: 1 })).body.error).toMatch(/item_price/);
    expect((await api.post('/api/v2/deals/99/products', { product_id: 1, item_price: 1, quantity: 1 })).status).toBe(404);
    expect((await api.post<ErrorBody>('/api/v2/deals/1/products', { product_id: 9, item_price: 1, quantity: 1 })).body.error).toMatch(/product_id/);
    await api.del('/api/v2/products/2');
    expect((await api.post('/api/v2/deals/1/products', { product_id: 2, item_price: 1, quantity: 1 })).status).toBe(400);
    expect((await api.post('/api/v2/deals/1/products', { product_id: 1, item_price: 1, quantity: 1, tax_method: 'both' })).status).toBe(400);
    expect((await api.get('/api/v2/deals/99/products')).status).toBe(404);
  });

  it('GET /deals/products?deal_ids: comma or repeated ids, ≤ 100, sorted and paged by any allowed key', async () => {
    for (const [deal, product] of [[2, 1], [1, 2], [2, 2], [1, 1]] as const) {
      await api.post(`/api/v2/deals/${deal}/products`, { product_id: product, item_price: 1, quantity: 1 });
      sim.clock.advance(1000);
    }
    expect(ids((await walk(api, '/api/v2/deals/products', { deal_ids: '1,2', limit: 1 })).rows)).toEqual([1, 2, 3, 4]);
    expect(ids((await walk(api, '/api/v2/deals/products', { deal_ids: '2', sort_by: 'update_time', sort_direction: 'desc' })).rows)).toEqual([3, 1]);
    expect(ids((await walk(api, '/api/v2/deals/products', { deal_ids: '1,2', sort_by: 'deal_id', limit: 3 })).rows)).toEqual([2, 4, 1, 3]);
    expect(ids((await walk(api, '/api/v2/deals/1/products', { sort_by: 'order_nr', sort_direction: 'desc' })).rows)).toEqual([4, 2]);
    const repeated = await fetch(`${sim.baseUrl}/api/v2/deals/products?deal_ids=1&deal_ids=2`, { headers: { 'x-api-token': sim.token } });
    expect(ids(((await repeated.json()) as Page).data)).toEqual([1, 2, 3, 4]);
    expect((await api.get('/api/v2/deals/products')).status).toBe(400);
    expect((await api.get('/api/v2/deals/products', { deal_ids: Array.from({ length: 101 }, (_, i) => i + 1).join(',') })).status).toBe(400);
    expect((await api.get('/api/v2/deals/products', { deal_ids: '1', sort_by: 'name' })).status).toBe(400);
  });
});

describe('deal installments', () => {
  it('are fixtures derived from each deal: stable, adding up to its value, paged and sortable', async () => {
    const sim2 = await startFrozen({ deals: 200 });
    try {
      const api2 = client(sim2);
      const dealIds = Array.from({ length: 100 }, (_, i) => i + 1);
      const { rows } = await walk<Item>(api2, '/api/v2/deals/installments', { deal_ids: dealIds.join(','), limit: 7 });
      expect(rows.length).toBeGreaterThan(5);
      expect(ids(rows)).toEqual([...ids(rows)].sort((a, b) => a - b));
      for (const dealId of new Set(rows.map((r) => r['deal_id'] as number))) {
        const deal = sim2.store.deals.get(dealId)!;
        const mine = rows.filter((r) => r['deal_id'] === dealId);
        expect(mine).toEqual(installmentsOf(deal, sim2.store.dealProducts.ofDeals([dealId]).map((r) => r.data)));
        expect(mine.reduce((s, r) => s + (r['amount'] as number), 0)).toBeCloseTo(deal.value, 2);
      }
      const byDate = await walk<Item>(api2, '/api/v2/deals/installments', { deal_ids: dealIds.join(','), sort_by: 'billing_date', limit: 3 });
      const dates = byDate.rows.map((r) => r['billing_date'] as string);
      expect(dates).toEqual([...dates].sort());
      expect((await api2.get('/api/v2/deals/installments')).status).toBe(400);
      // Only deals with an enabled one-time product and no recurring one have installments (postInstallment's rule).
      const withInstallments = new Set(rows.map((r) => r['deal_id'] as number));
      for (const dealId of dealIds) {
        const terms = sim2.store.dealProducts.ofDeals([dealId]).map((r) => r.data.terms);
        const eligible = terms.some((t) => t.is_enabled && t.billing_frequency === 'one-time') && terms.every((t) => t.billing_frequency === 'one-time');
        if (!eligible) expect(withInstallments.has(dealId), `deal ${dealId}: no one-time product, no installments`).toBe(false);
      }
      expect([...withInstallments].length, 'some deals have installments').toBeGreaterThan(0);
    } finally {
      await sim2.close();
    }
  });
});
