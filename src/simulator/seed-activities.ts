/**
 * Seeded activities and deal products: each belongs to a deal that existed at its add time, carries
 * that deal's person and organization, and ids ascend with add time. Deals with products get the
 * value their products add up to, as Pipedrive recalculates it.
 */
import type { Rng } from './prng.ts';
import { ACCOUNT } from './store/account.ts';
import { makeActivity, type ActivityRecord } from './store/activities.ts';
import { DEFAULT_TERMS, type DealProductTerms } from './store/deal-products.ts';
import type { SimStore } from './store/index.ts';
import type { Row } from './store/table.ts';
import { formatDate } from './time.ts';

export type CustomPicker = (rng: Rng) => Readonly<Record<string, unknown>>;

const DAY = 86_400;
const TYPES = [['call', 40], ['meeting', 20], ['task', 20], ['email', 15], ['deadline', 5]] as const;
const SUBJECTS: Record<string, readonly string[]> = {
  call: ['Intro call', 'Follow-up call', 'Check-in call'], meeting: ['Demo', 'Quarterly review', 'On-site visit'],
  task: ['Send proposal', 'Prepare quote', 'Update CRM'], email: ['Send pricing', 'Send contract'], deadline: ['Contract deadline'],
};
const DUE_TIMES = ['09:00:00', '10:30:00', '13:00:00', '15:00:00', '16:30:00'];
const DURATIONS = ['00:15:00', '00:30:00', '01:00:00'];
/** An amount discount keeps seeded sums whole (deal values stay small integers, cheaper to hold). */
const DISCOUNTED: DealProductTerms = Object.freeze({ ...DEFAULT_TERMS, discount: 5, discount_type: 'amount' });

/**
 * n times in the window before now, ascending (ids ascend with add_time). Int32Array, not Float64Array:
 * its elements load as small integers, while a double stored into a row's addSec even once turns that
 * field into a boxed double in every row of every table (+32 bytes a row).
 */
export function ascendingTimes(rng: Rng, n: number, nowSec: number, spread: number): Int32Array {
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = nowSec - rng.int(0, spread);
  return t.sort();
}

/** Number of deals added at or before `sec` (deals ascend by add time). */
function dealsAddedBy(deals: readonly Row<unknown>[], sec: number): number {
  let lo = 0;
  let hi = deals.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (deals[mid]!.addSec <= sec) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function seedActivities(store: SimStore, rng: Rng, nowSec: number, n: number, custom: CustomPicker): void {
  const deals = store.deals.table.all();
  if (deals.length === 0 || n === 0) return;
  const days = new Map<number, string>();
  const dayString = (sec: number): string => {
    const day = Math.floor(sec / DAY);
    let s = days.get(day);
    if (s === undefined) days.set(day, (s = formatDate(day * DAY)));
    return s;
  };
  for (const addSec of ascendingTimes(rng, n, nowSec, nowSec - deals[0]!.addSec)) {
    const deal = deals[rng.int(0, dealsAddedBy(deals, addSec) - 1)]!.data;
    const type = rng.weighted(TYPES);
    const dueSec = addSec + rng.int(-1, 14) * DAY;
    const done = dueSec < nowSec && rng.chance(0.75);
    const updateSec = rng.chance(0.5) ? addSec : rng.int(addSec, nowSec);
    const record: ActivityRecord = makeActivity({
      subject: rng.pick(SUBJECTS[type]!), type, owner_id: deal.owner_id, creator_user_id: rng.pick(ACCOUNT.userIds),
      is_deleted: false, deal_id: deal.id, person_id: deal.person_id, org_id: deal.org_id, due_date: dayString(dueSec),
      due_time: rng.chance(0.5) ? rng.pick(DUE_TIMES) : null,
      duration: type === 'call' || type === 'meeting' ? rng.pick(DURATIONS) : null, busy: type === 'meeting', done,
      marked_as_done_sec: done ? rng.int(addSec, updateSec) : null, participants: null, extra: null,
      custom_fields: custom(rng),
    });
    store.activities.insert(addSec, updateSec, () => record);
  }
}

export function seedDealProducts(store: SimStore, rng: Rng, nowSec: number, n: number): void {
  const deals = store.deals.table.all();
  const products = store.products.table.all();
  if (deals.length === 0 || products.length === 0 || n === 0) return;
  // An attachment falls within its deal's life so far (the deal's update_time follows it).
  const planned = Array.from({ length: n }, () => {
    const d = rng.pick(deals);
    return { sec: rng.int(d.addSec, Math.max(d.addSec, Math.min(nowSec, d.updateSec))), deal: d };
  }).sort((a, b) => a.sec - b.sec);
  const touched = new Set<number>();
  const order = new Map<number, number>();
  for (const { sec, deal } of planned) {
    const productRow = rng.pick(products);
    const product = productRow.data;
    const price = product.prices.find((p) => p.currency === deal.data.currency) ?? product.prices[0];
    const orderNr = (order.get(deal.id) ?? 0) + 1;
    order.set(deal.id, orderNr);
    store.dealProducts.insert(sec, sec, {
      deal_id: deal.id, product_id: productRow.id, name: product.name,
      currency: deal.data.currency, item_price: price?.price ?? 0, quantity: rng.int(1, 5), tax: product.tax,
      order_nr: orderNr, terms: rng.chance(0.1) ? DISCOUNTED : DEFAULT_TERMS,
    });
    touched.add(deal.id);
  }
  for (const id of touched) store.deals.table.get(id)!.data.value = store.dealProducts.dealValue(id);
}
