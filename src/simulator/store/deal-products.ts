/**
 * Products attached to deals (v2 deal products). Always read per deal (one deal, or up to 100 via
 * deal_ids), so rows are kept per deal rather than in a global table. Deleting an attachment removes
 * it (no soft delete). As Pipedrive does, every attachment write recalculates the deal's value (sum of
 * its enabled attachments) — which also moves the deal's update_time, so a CDC that follows deals
 * sees product changes.
 */
import type { SimClock } from '../clock.ts';
import { formatV2 } from '../time.ts';
import type { DealStore } from './deals.ts';
import type { EntityStore } from './entity-store.ts';
import { WriteRefused } from './errors.ts';
import { diffFields, type EventJournal } from './events.ts';
import { ACCOUNT } from './account.ts';
import type { BillingFrequency, ProductChanges, ProductRecord } from './products.ts';
import type { Row } from './table.ts';

/** Settings most attachments leave at their defaults: one shared object unless changed. */
export interface DealProductTerms {
  readonly comments: string;
  readonly discount: number;
  readonly discount_type: 'percentage' | 'amount';
  readonly tax_method: 'exclusive' | 'inclusive' | 'none';
  readonly is_enabled: boolean;
  readonly product_variation_id: number | null;
  readonly billing_frequency: BillingFrequency;
  readonly billing_frequency_cycles: number | null;
  readonly billing_start_date: string | null;
}

export interface DealProductRecord {
  readonly deal_id: number;
  readonly product_id: number;
  readonly name: string;
  readonly currency: string;
  readonly item_price: number;
  readonly quantity: number;
  readonly tax: number;
  readonly order_nr: number;
  readonly terms: DealProductTerms;
}

export type DealProductChanges = Partial<Omit<DealProductRecord, 'deal_id' | 'name' | 'currency' | 'order_nr' | 'terms'>> & Partial<DealProductTerms>;

export const DEFAULT_TERMS: DealProductTerms = Object.freeze({
  comments: '', discount: 0, discount_type: 'percentage', tax_method: 'inclusive', is_enabled: true,
  product_variation_id: null, billing_frequency: 'one-time', billing_frequency_cycles: null, billing_start_date: null,
});
const TERM_KEYS = Object.keys(DEFAULT_TERMS) as (keyof DealProductTerms)[];

export const DEAL_PRODUCT_FIELDS = [
  'id', 'sum', 'tax', 'deal_id', 'name', 'product_id', 'product_variation_id', 'order_nr', 'add_time', 'update_time',
  'comments', 'currency', 'discount', 'discount_type', 'quantity', 'item_price', 'tax_method', 'is_enabled',
  'billing_frequency', 'billing_frequency_cycles', 'billing_start_date',
] as const;

/** Line total: price × quantity, less the discount, plus tax when it is charged on top. */
export function sumOf(r: DealProductRecord): number {
  const base = r.item_price * r.quantity;
  const t = r.terms;
  const discounted = t.discount_type === 'percentage' ? base * (1 - t.discount / 100) : base - t.discount;
  const total = t.tax_method === 'exclusive' ? discounted * (1 + r.tax / 100) : discounted;
  return Math.round(total * 100) / 100;
}

export function presentDealProduct(row: Row<DealProductRecord>): Record<string, unknown> {
  const d = row.data;
  const t = d.terms;
  return {
    id: row.id, sum: sumOf(d), tax: d.tax, deal_id: d.deal_id, name: d.name, product_id: d.product_id,
    product_variation_id: t.product_variation_id, order_nr: d.order_nr, add_time: formatV2(row.addSec),
    update_time: formatV2(row.updateSec), comments: t.comments, currency: d.currency, discount: t.discount,
    discount_type: t.discount_type, quantity: d.quantity, item_price: d.item_price, tax_method: t.tax_method,
    is_enabled: t.is_enabled, billing_frequency: t.billing_frequency, billing_frequency_cycles: t.billing_frequency_cycles,
    billing_start_date: t.billing_start_date,
  };
}

export class DealProductStore {
  private readonly byDeal = new Map<number, Row<DealProductRecord>[]>();
  private nextId = 1;
  private count = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly journal: EventJournal,
    private readonly deals: DealStore,
    private readonly products: EntityStore<ProductRecord, ProductChanges>,
    private readonly actorUserId: number = ACCOUNT.tokenUserId,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Attachments of these deals, in no particular order. */
  ofDeals(dealIds: Iterable<number>): Row<DealProductRecord>[] {
    const out: Row<DealProductRecord>[] = [];
    for (const id of new Set(dealIds)) out.push(...(this.byDeal.get(id) ?? []));
    return out;
  }

  /** Seed path: no journal, no deal recalculation (the seeder sets deal values itself). */
  insert(addSec: number, updateSec: number, rec: DealProductRecord): Row<DealProductRecord> {
    const row: Row<DealProductRecord> = { id: this.nextId++, addSec, updateSec, deletedAtMs: null, version: 1, data: rec };
    // Exact-size arrays: push would reserve ~16 slots for each of hundreds of thousands of deals.
    const list = this.byDeal.get(rec.deal_id);
    this.byDeal.set(rec.deal_id, list ? [...list, row] : [row]);
    this.count += 1;
    return row;
  }

  add(dealId: number, ch: DealProductChanges & { product_id: number; item_price: number; quantity: number }): Row<DealProductRecord> {
    const deal = this.deals.get(dealId);
    if (!deal) throw new WriteRefused(404, 'Deal not found');
    const product = this.products.getLive(ch.product_id);
    if (!product) throw new WriteRefused(400, `Validation failed: product_id: Product ${ch.product_id} not found`);
    if (!product.data.is_linkable) throw new WriteRefused(400, 'Validation failed: product_id: Product is not linkable to deals');
    const sec = this.clock.nowSeconds();
    const order = Math.max(0, ...(this.byDeal.get(dealId) ?? []).map((r) => r.data.order_nr)) + 1;
    const { product_id, item_price, quantity, tax, ...terms } = ch;
    const row = this.insert(sec, sec, {
      deal_id: dealId, product_id, name: product.data.name, currency: deal.currency, item_price, quantity,
      tax: tax ?? product.data.tax, order_nr: order, terms: withTerms(DEFAULT_TERMS, terms),
    });
    this.written('add', null, row);
    return row;
  }

  update(dealId: number, attachmentId: number, ch: DealProductChanges): Row<DealProductRecord> | undefined {
    const row = this.find(dealId, attachmentId);
    if (!row) return undefined;
    const before = presentDealProduct(row);
    const { product_id, item_price, quantity, tax, ...terms } = ch;
    let name = row.data.name;
    if (product_id !== undefined && product_id !== row.data.product_id) {
      const product = this.products.getLive(product_id);
      if (!product) throw new WriteRefused(400, `Validation failed: product_id: Product ${product_id} not found`);
      name = product.data.name;
    }
    row.data = {
      ...row.data, name, product_id: product_id ?? row.data.product_id, item_price: item_price ?? row.data.item_price,
      quantity: quantity ?? row.data.quantity, tax: tax ?? row.data.tax, terms: withTerms(row.data.terms, terms),
    };
    row.updateSec = this.clock.nowSeconds();
    row.version += 1;
    this.written('update', before, row);
    return row;
  }

  delete(dealId: number, attachmentId: number): boolean {
    const row = this.find(dealId, attachmentId);
    if (!row) return false;
    const list = this.byDeal.get(dealId)!;
    list.splice(list.indexOf(row), 1);
    if (list.length === 0) this.byDeal.delete(dealId);
    this.count -= 1;
    this.written('delete', presentDealProduct(row), row);
    return true;
  }

  /** The deal's value as its enabled attachments add up. */
  dealValue(dealId: number): number {
    const total = (this.byDeal.get(dealId) ?? []).filter((r) => r.data.terms.is_enabled).reduce((s, r) => s + sumOf(r.data), 0);
    return Math.round(total * 100) / 100;
  }

  private find(dealId: number, attachmentId: number): Row<DealProductRecord> | undefined {
    if (!this.deals.get(dealId)) return undefined;
    return this.byDeal.get(dealId)?.find((r) => r.id === attachmentId);
  }

  private written(action: 'add' | 'update' | 'delete', before: Record<string, unknown> | null, row: Row<DealProductRecord>): void {
    const after = presentDealProduct(row);
    const changes = action === 'delete' ? [] : diffFields(before, after, new Set(['update_time']));
    this.journal.append({ itemType: 'dealProduct', id: row.id, action, timeMs: this.clock.nowMs(), userId: this.actorUserId, changes });
    this.deals.update(row.data.deal_id, { value: this.dealValue(row.data.deal_id) });
  }
}

function withTerms(prev: DealProductTerms, patch: Partial<DealProductTerms>): DealProductTerms {
  const given = TERM_KEYS.filter((k) => patch[k] !== undefined);
  if (given.length === 0) return prev;
  const next = { ...prev } as Record<string, unknown>;
  for (const k of given) next[k] = patch[k];
  return next as unknown as DealProductTerms;
}
