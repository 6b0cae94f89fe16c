/**
 * The v2 entity stores beside deals (persons, organizations, activities, products, pipelines, stages,
 * deal products) and the field catalog, wired together: deleting a custom field drops its values
 * from the entity's items (deals included; leads register their own listener on `fields`).
 */
import type { SimClock } from '../clock.ts';
import { activityModel, type ActivityChanges, type ActivityRecord } from './activities.ts';
import { makeDeal } from './deal-model.ts';
import { DealProductStore } from './deal-products.ts';
import type { DealStore } from './deals.ts';
import { EntityStore } from './entity-store.ts';
import type { EventJournal } from './events.ts';
import { FieldStore } from './fields.ts';
import type { FieldEntity } from './fields-builtin.ts';
import { organizationModel, type OrganizationChanges, type OrganizationRecord } from './organizations.ts';
import { personModel, type PersonChanges, type PersonRecord } from './persons.ts';
import { createPipelineStores, type PipelineChanges, type PipelineRecord, type StageChanges, type StageRecord } from './pipelines.ts';
import { productModel, type ProductChanges, type ProductRecord } from './products.ts';

export interface V2Stores {
  readonly fields: FieldStore;
  readonly persons: EntityStore<PersonRecord, PersonChanges>;
  readonly organizations: EntityStore<OrganizationRecord, OrganizationChanges>;
  readonly activities: EntityStore<ActivityRecord, ActivityChanges>;
  readonly products: EntityStore<ProductRecord, ProductChanges>;
  readonly pipelines: EntityStore<PipelineRecord, PipelineChanges>;
  readonly stages: EntityStore<StageRecord, StageChanges>;
  readonly dealProducts: DealProductStore;
}

export function createV2Stores(clock: SimClock, journal: EventJournal, deals: DealStore): V2Stores {
  const products = new EntityStore(clock, journal, productModel);
  const stores: V2Stores = {
    fields: new FieldStore(clock, journal),
    persons: new EntityStore(clock, journal, personModel),
    organizations: new EntityStore(clock, journal, organizationModel),
    activities: new EntityStore(clock, journal, activityModel(() => clock.nowSeconds())),
    products,
    ...createPipelineStores(clock, journal),
    dealProducts: new DealProductStore(clock, journal, deals, products),
  };
  const holders: Record<FieldEntity, (key: string) => void> = {
    deal: (key) => dropDealCustomField(deals, key),
    person: (key) => stores.persons.dropCustomField(key),
    organization: (key) => stores.organizations.dropCustomField(key),
    product: (key) => stores.products.dropCustomField(key),
    activity: (key) => stores.activities.dropCustomField(key),
  };
  stores.fields.onDeleted((entity, key) => holders[entity](key));
  return stores;
}

/** Deals are immutable once stored: swap in a copy without the key (times and version stay). */
function dropDealCustomField(deals: DealStore, key: string): void {
  for (const row of deals.table.all()) {
    if (!(key in row.data.custom_fields)) continue;
    const { [key]: _dropped, ...rest } = row.data.custom_fields;
    row.data = makeDeal({ ...row.data, custom_fields: rest });
  }
}
