import { defineTable } from '../types.ts';
import { liveDeals } from './shared.ts';

/**
 * PRODUCT_DEAL (deal products) — v2 `GET /api/v2/deals/products?deal_ids=…` (10 tokens a page of up to
 * 500), re-imported daily. `deal_ids` is required (at most 100 ids), so the list walks the live deals and
 * fills `deal_ids` from those with products (`{id}`); there is no "all deal products" endpoint.
 */
export const productDeal = defineTable({
  name: 'product_deal',
  api: 'v2',
  sync: {
    kind: 'reimport',
    list: {
      endpoint: '/api/v2/deals/products',
      pagination: 'v2-cursor',
      limit: 500,
      params: { deal_ids: '{id}' },
      // deal_ids takes up to 100 ids: one call per 100 deals that have products (products_count > 0).
      forEachParent: { list: liveDeals, idField: 'id', batch: 100, counters: ['products_count'] },
    },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id', 'deal_id'],
  createdField: 'add_time',
  notes: 're-imported daily over live deals; a line gone (or its deal deleted/archived) is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'deal_id', type: 'long' },
    { name: 'product_id', type: 'long' },
    { name: 'product_variation_id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'order_nr', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'comments', type: 'string' },
    { name: 'currency', type: 'string' },
    { name: 'item_price', type: 'double' },
    // The spec says integer; Fivetran widened QUANTITY to double (2024-04): fractional quantities exist.
    { name: 'quantity', type: 'double' },
    { name: 'sum', type: 'double' },
    { name: 'discount', type: 'double' },
    { name: 'discount_type', type: 'string' },
    { name: 'tax', type: 'double' },
    { name: 'tax_method', type: 'string' },
    { name: 'is_enabled', type: 'boolean' },
    { name: 'billing_frequency', type: 'string' },
    { name: 'billing_frequency_cycles', type: 'long' },
    { name: 'billing_start_date', type: 'date' },
  ],
});
