/** All entity stores of one simulated company, sharing the simulator's clock. */
import type { SimClock } from '../clock.ts';
import { DealCounterIndex } from './deal-counters.ts';
import { DealPeopleStore } from './deal-people.ts';
import { DealStore } from './deals.ts';
import { EventJournal } from './events.ts';
import { createV2Stores, type V2Stores } from './v2-index.ts';
import { createV1Stores, type V1Stores } from './v1-index.ts';
import { WebhookRegistry } from '../webhooks/registry.ts';

export interface SimStore extends V2Stores {
  readonly clock: SimClock;
  /** Every write of every store, in order: feeds recents, flow and changelog. */
  readonly journal: EventJournal;
  readonly deals: DealStore;
  /** The v1-only entities (notes, users, files, leads, ...): see v1-index.ts. */
  readonly v1: V1Stores;
  /** Deal participants (persons) and followers (users). */
  readonly dealPeople: DealPeopleStore;
  /** Webhook subscriptions (/v1/webhooks); deliveries: webhooks/delivery.ts. */
  readonly webhooks: WebhookRegistry;
  /** The per-deal counters v2 include_fields returns, derived from the other stores. */
  readonly dealCounters: DealCounterIndex;
}

export function createStore(clock: SimClock): SimStore {
  const journal = new EventJournal();
  const deals = new DealStore(clock, journal);
  const v2 = createV2Stores(clock, journal, deals);
  const store: Omit<SimStore, 'dealCounters'> & { dealCounters?: DealCounterIndex } = {
    clock,
    journal,
    deals,
    ...v2,
    v1: createV1Stores(clock, journal, v2.fields),
    dealPeople: new DealPeopleStore(clock, journal),
    webhooks: new WebhookRegistry(clock),
  };
  store.dealCounters = new DealCounterIndex(store as SimStore);
  return store as SimStore;
}

export { DealStore } from './deals.ts';
export type { Deal, DealChanges, DealStatus } from './deal-model.ts';
export { DEAL_FIELDS } from './deal-model.ts';
