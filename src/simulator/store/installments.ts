/**
 * Deal installments (v2 GET /deals/installments): read-only fixtures derived from the deal itself, so
 * they cost no memory and stay the same for the same deal. As the v2 spec has it (postInstallment: "An
 * installment can only be added if the deal includes at least one one-time product. If the deal contains
 * at least one recurring product, adding installments is not allowed"), only a deal with an enabled
 * one-time product and no recurring one can have them: about one such deal in three is paid in 2–4
 * installments that add up to its value; every other deal has none.
 */
import { mulberry32 } from '../prng.ts';
import { formatDate } from '../time.ts';
import type { Deal } from './deal-model.ts';
import type { DealProductRecord } from './deal-products.ts';

export interface Installment {
  readonly id: number;
  readonly amount: number;
  readonly billing_date: string;
  readonly description: string;
  readonly deal_id: number;
}

export const INSTALLMENT_FIELDS = ['id', 'amount', 'billing_date', 'description', 'deal_id'] as const;
const MAX_PER_DEAL = 4;
const MONTH_SEC = 30 * 24 * 3600;

/** The deal's installments, given its product attachments. */
export function installmentsOf(deal: Deal, products: readonly DealProductRecord[]): Installment[] {
  const oneTime = products.some((p) => p.terms.is_enabled && p.terms.billing_frequency === 'one-time');
  if (!oneTime || products.some((p) => p.terms.billing_frequency !== 'one-time')) return [];
  const rnd = mulberry32((deal.id * 0x9e3779b1) ^ 0x1a57a11);
  if (rnd() >= 1 / 3 || deal.value <= 0) return [];
  const n = 2 + Math.floor(rnd() * (MAX_PER_DEAL - 1));
  const first = Date.parse(deal.expected_close_date ?? deal.add_time) / 1000;
  const share = Math.floor((deal.value / n) * 100) / 100;
  return Array.from({ length: n }, (_, k) => ({
    // Unique across deals, ascending with the deal and the installment's position.
    id: deal.id * MAX_PER_DEAL + k,
    amount: k === n - 1 ? Math.round((deal.value - share * (n - 1)) * 100) / 100 : share,
    billing_date: formatDate(first + k * MONTH_SEC),
    description: `Installment ${k + 1} of ${n}`,
    deal_id: deal.id,
  }));
}
