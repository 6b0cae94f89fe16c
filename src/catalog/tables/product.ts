import { defineTable } from '../types.ts';
import { v2CustomFields, v2EntityDeletes, v2UpdatedSince } from './shared.ts';

/**
 * PRODUCT — v2 `GET /api/v2/products` (10 tokens a page of up to 500), `updated_since` ascending.
 * `updated_since` on products is in SDK 33.7.0 but not yet in the stored spec copy (docs §b1, §b9).
 * The spec's list schema wraps each item in {success, data} by mistake; columns follow the item as the
 * examples show it (incl. `description`, `category`, `add_time`, `update_time`). `prices[]` fan out to
 * PRODUCT_PRICE_HISTORY. Deleted products are hidden from the list: periodic id scan.
 */
export const product = defineTable({
  name: 'product',
  api: 'v2',
  recentsItem: 'product',
  sync: v2UpdatedSince('/api/v2/products'),
  deletes: v2EntityDeletes('/api/v2/products'),
  primaryKey: ['id'],
  createdField: 'add_time',
  customFields: v2CustomFields('/api/v2/productFields'),
  children: [{ table: 'product_price_history', from: 'prices' }],
  notes: 'updated_since stream; deletes by an id scan of the v2 list every 6 h (worst case 6 h + one poll; seconds with webhooks)',
  columns: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
    { name: 'code', type: 'string' },
    { name: 'description', type: 'string' },
    { name: 'unit', type: 'string' },
    { name: 'tax', type: 'double' },
    { name: 'category', type: 'string' },
    { name: 'is_linkable', type: 'boolean' },
    { name: 'is_deleted', type: 'boolean' },
    { name: 'visible_to', type: 'long' },
    { name: 'owner_id', type: 'long' },
    { name: 'add_time', type: 'timestamp' },
    { name: 'update_time', type: 'timestamp' },
    { name: 'billing_frequency', type: 'string' },
    { name: 'billing_frequency_cycles', type: 'long' },
  ],
});

/**
 * PRODUCT_PRICE_HISTORY — the v2 product's `prices[]` ({product_id, currency, price, cost, direct_cost,
 * notes}); one price per product and currency (spec), so that is the key. Latest state only: history
 * (Fivetran's key id + updated_time) comes with the history tables.
 */
export const productPriceHistory = defineTable({
  name: 'product_price_history',
  api: 'v2',
  sync: { kind: 'child', parent: 'product' },
  deletes: [{ kind: 'with-parent' }],
  primaryKey: ['product_id', 'currency'],
  notes: 'replaced with every product version; removed prices deleted then; worst case as product',
  columns: [
    { name: 'product_id', type: 'long', path: '$parent.id' },
    { name: 'currency', type: 'string' },
    { name: 'price', type: 'double' },
    { name: 'cost', type: 'double' },
    { name: 'direct_cost', type: 'double' },
    { name: 'notes', type: 'string' },
  ],
});
