/**
 * The v2 routes beside deals: persons, organizations, activities, products, pipelines, stages, deal
 * products and installments, deal followers, and the field catalogs. Mount before dealRoutes: its /deals/:id would
 * otherwise take /deals/products and /deals/installments.
 */
import express, { type RequestHandler, type Router } from 'express';
import type { SimStore } from '../../store/index.ts';
import { activityRoutes } from './activities.ts';
import { dealFollowerRoutes } from './deal-followers.ts';
import { dealProductRoutes } from './deal-products.ts';
import { fieldRoutes } from './fields.ts';
import { organizationRoutes } from './organizations.ts';
import { personRoutes } from './persons.ts';
import { pipelineRoutes } from './pipelines.ts';
import { productRoutes } from './products.ts';

export function v2EntityRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  r.use(dealProductRoutes(store, operation));
  r.use(dealFollowerRoutes(store, operation));
  r.use(personRoutes(store, operation));
  r.use(organizationRoutes(store, operation));
  r.use(activityRoutes(store, operation));
  r.use(productRoutes(store, operation));
  r.use(pipelineRoutes(store, operation));
  r.use(fieldRoutes(store, operation));
  return r;
}
