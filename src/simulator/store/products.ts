/**
 * v2 products. Field set: the getProduct response schema plus description, category, add_time and
 * update_time, which every spec example shows (and CDC needs update_time); order as in the examples.
 * prices[] items as the spec describes them: {product_id, price, currency, cost, direct_cost, notes}.
 */
import { formatV2 } from '../time.ts';
import { ACCOUNT } from './account.ts';
import type { EntityModel } from './entity-store.ts';
import { EMPTY_CUSTOM, defined, mergeCustom } from './model-kit.ts';
import type { Row } from './table.ts';

export const BILLING_FREQUENCIES = ['one-time', 'annually', 'semi-annually', 'quarterly', 'monthly', 'weekly'] as const;
export type BillingFrequency = (typeof BILLING_FREQUENCIES)[number];

/** A price as written: one per currency; product_id is filled in when presented. */
export interface PriceInput {
  readonly currency: string;
  readonly price: number;
  readonly cost: number;
  readonly direct_cost: number | null;
  readonly notes: string | null;
}

export interface ProductRecord {
  readonly name: string;
  readonly code: string | null;
  readonly description: string | null;
  readonly unit: string | null;
  readonly tax: number;
  readonly category: string | null;
  readonly is_linkable: boolean;
  readonly is_deleted: boolean;
  readonly visible_to: number;
  readonly owner_id: number;
  readonly billing_frequency: BillingFrequency;
  readonly billing_frequency_cycles: number | null;
  readonly prices: readonly PriceInput[];
  readonly custom_fields: Readonly<Record<string, unknown>>;
}

export interface ProductChanges {
  name?: string;
  code?: string | null;
  description?: string | null;
  unit?: string | null;
  tax?: number;
  category?: string | null;
  is_linkable?: boolean;
  visible_to?: number;
  owner_id?: number;
  billing_frequency?: BillingFrequency;
  billing_frequency_cycles?: number | null;
  prices?: readonly PriceInput[];
  custom_fields?: Readonly<Record<string, unknown>>;
}

export const PRODUCT_FIELDS = [
  'id', 'name', 'code', 'description', 'unit', 'tax', 'category', 'is_linkable', 'is_deleted', 'visible_to', 'owner_id',
  'add_time', 'update_time', 'billing_frequency', 'billing_frequency_cycles', 'prices', 'custom_fields',
] as const;

export function makeProduct(f: ProductRecord): ProductRecord {
  return {
    name: f.name, code: f.code, description: f.description, unit: f.unit, tax: f.tax, category: f.category,
    is_linkable: f.is_linkable, is_deleted: f.is_deleted, visible_to: f.visible_to, owner_id: f.owner_id,
    billing_frequency: f.billing_frequency, billing_frequency_cycles: f.billing_frequency_cycles, prices: f.prices,
    custom_fields: f.custom_fields,
  };
}

/** "When prices is omitted altogether, a default price of 0 and the user's default currency" (spec). */
const DEFAULT_PRICES: readonly PriceInput[] = Object.freeze([
  Object.freeze({ currency: ACCOUNT.defaultCurrency, price: 0, cost: 0, direct_cost: null, notes: null }),
]);

export const productModel: EntityModel<ProductRecord, ProductChanges> = {
  itemType: 'product',
  create(ch) {
    return productModel.apply(makeProduct({
      name: '', code: null, description: null, unit: null, tax: 0, category: null, is_linkable: true, is_deleted: false,
      visible_to: 3, owner_id: ACCOUNT.tokenUserId, billing_frequency: 'one-time', billing_frequency_cycles: null,
      prices: DEFAULT_PRICES, custom_fields: EMPTY_CUSTOM,
    }), ch);
  },
  apply(prev, ch) {
    const { custom_fields, ...plain } = ch;
    return makeProduct({ ...prev, ...defined(plain), custom_fields: mergeCustom(prev.custom_fields, custom_fields) });
  },
  markDeleted: (prev) => makeProduct({ ...prev, is_deleted: true }),
  present: (row: Row<ProductRecord>) => {
    const p = row.data;
    return {
      id: row.id, name: p.name, code: p.code, description: p.description, unit: p.unit, tax: p.tax, category: p.category,
      is_linkable: p.is_linkable, is_deleted: p.is_deleted, visible_to: p.visible_to, owner_id: p.owner_id,
      add_time: formatV2(row.addSec), update_time: formatV2(row.updateSec), billing_frequency: p.billing_frequency,
      billing_frequency_cycles: p.billing_frequency_cycles,
      prices: p.prices.map((x) => ({ product_id: row.id, price: x.price, currency: x.currency, cost: x.cost, direct_cost: x.direct_cost, notes: x.notes })),
      custom_fields: p.custom_fields,
    };
  },
  extraKeys: { name: (r) => r.data.name },
  customFields: (r) => r.custom_fields,
  withCustomFields: (r, values) => makeProduct({ ...r, custom_fields: values }),
};
