/** All entity stores of one simulated company, sharing the simulator's clock. */
import type { SimClock } from '../clock.ts';
import { DealStore } from './deals.ts';
import { EventJournal } from './events.ts';

export interface SimStore {
  readonly clock: SimClock;
  /** Every write of every store, in order: feeds recents, flow and changelog. */
  readonly journal: EventJournal;
  readonly deals: DealStore;
}

export function createStore(clock: SimClock): SimStore {
  const journal = new EventJournal();
  return { clock, journal, deals: new DealStore(clock, journal) };
}

export { DealStore } from './deals.ts';
export type { Deal, DealChanges, DealStatus } from './deal-model.ts';
export { DEAL_FIELDS } from './deal-model.ts';
