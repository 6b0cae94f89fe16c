/** All entity stores of one simulated company, sharing the simulator's clock. */
import type { SimClock } from '../clock.ts';
import { DealStore } from './deals.ts';

export interface SimStore {
  readonly clock: SimClock;
  readonly deals: DealStore;
}

export function createStore(clock: SimClock): SimStore {
  return { clock, deals: new DealStore(clock) };
}

export { DealStore } from './deals.ts';
export type { Deal, DealChanges, DealStatus } from './deal-model.ts';
export { DEAL_FIELDS } from './deal-model.ts';
