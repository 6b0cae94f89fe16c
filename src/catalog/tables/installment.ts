import { defineTable } from '../types.ts';
import { liveDeals } from './shared.ts';

/**
 * INSTALLMENT — v2 `GET /api/v2/deals/installments?deal_ids=…` (10 tokens a page of up to 500; Growth
 * plans and above), re-imported daily. `deal_ids` is required (at most 100), so the list walks the live
 * deals that have products (`products_count` > 0). Amounts are in the deal's currency (the installment has
 * no currency field).
 */
export const installment = defineTable({
  name: 'installment',
  api: 'v2',
  sync: {
    kind: 'reimport',
    list: {
      endpoint: '/api/v2/deals/installments',
      pagination: 'v2-cursor',
      limit: 500,
      params: { deal_ids: '{id}' },
      // deal_ids takes up to 100 ids: one call per 100 deals that have products — an installment can only be
      // added to a deal with a one-time product, and its last enabled product cannot be disabled (v2 spec,
      // postInstallment, updateDealProduct).
      forEachParent: { list: liveDeals, idField: 'id', batch: 100, counters: ['products_count'] },
    },
    every: 'day',
  },
  deletes: [{ kind: 'vanish' }],
  primaryKey: ['id', 'deal_id'],
  notes: 're-imported daily over live deals; an installment gone (or its deal deleted/archived) is deleted (worst case 24 h)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'deal_id', type: 'long' },
    { name: 'amount', type: 'double' },
    { name: 'billing_date', type: 'date' },
    { name: 'description', type: 'string' },
  ],
});
