import type { ResponseHeaders } from './client.ts';

/**
 * The tokens this connector's calls cost, as far as the answers tell. Pipedrive's API documents no
 * per-call cost header: the spend is what the company's daily budget (`x-daily-ratelimit-token-remaining`)
 * lost between answers — other integrations of the company spending at the same moments included, so
 * the figure errs on the high side (pacing by it stays within the share). Where an answer carries
 * `x-token-cost` (the local Pipedrive can send it), that is used instead.
 *
 * Answers of concurrent calls may arrive out of order (a later answer with a little more left): only new
 * lows count. A rise by more than a few calls' worth is the daily reset: the count goes on from there.
 */
const RESET_RISE = 4 * 80; // four of the dearest calls (80 tokens) in flight at once

export class SpendMeter {
  private lowest: number | undefined;
  private total = 0;

  /** The running total (the pacer charges the difference over a table's poll). */
  get spent(): number {
    return this.total;
  }

  observe(headers: ResponseHeaders, tokenCost: number): void {
    if (tokenCost > 0) {
      this.total += tokenCost;
      return;
    }
    const raw = headers['x-daily-ratelimit-token-remaining'];
    const left = Number(raw);
    if (raw === undefined || !Number.isFinite(left)) return;
    if (this.lowest === undefined || left > this.lowest + RESET_RISE) {
      this.lowest = left;
      return;
    }
    if (left < this.lowest) {
      this.total += this.lowest - left;
      this.lowest = left;
    }
  }
}
