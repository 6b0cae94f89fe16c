/**
 * The v1 API, served under `/v1` and `/api/v1` (the real API accepted both). Same request path as
 * v2: count → auth (any of the company's tokens; the caller's user decides what private data it
 * sees) → body (JSON or form) → route: operation(name) → interceptors → handler.
 */
import express, { type RequestHandler, type Router } from 'express';
import type { RequestCounter } from '../../http/middleware.ts';
import type { SimOAuth } from '../../oauth/state.ts';
import { requireAnyToken, type SimToken } from '../../http/tokens.ts';
import type { SimStore } from '../../store/index.ts';
import { activityTypeRoutes } from './activity-types.ts';
import { dealHistoryRoutes } from './deal-history.ts';
import { dealMailRoutes } from './deal-mail.ts';
import { dealParticipantRoutes } from './deal-participants.ts';
import { fieldRoutes } from './fields.ts';
import { fileRoutes } from './files.ts';
import { filterRoutes } from './filters.ts';
import { goalRoutes } from './goals.ts';
import { leadRoutes } from './leads.ts';
import { miscRoutes } from './misc.ts';
import { noteRoutes } from './notes.ts';
import { projectRoutes } from './projects.ts';
import { recentsRoutes } from './recents.ts';
import { userRoutes } from './users.ts';
import { webhookRoutes } from './webhooks.ts';

export const V1_PATHS = ['/v1', '/api/v1'];

export interface V1Parts {
  store: SimStore;
  operation: (name: string) => RequestHandler;
  requestCount: RequestCounter;
  tokens: readonly SimToken[];
  oauth?: SimOAuth;
}

const MODULES = [recentsRoutes, noteRoutes, userRoutes, activityTypeRoutes, fileRoutes, filterRoutes, leadRoutes, goalRoutes,
  miscRoutes, projectRoutes, dealHistoryRoutes, dealMailRoutes, dealParticipantRoutes, fieldRoutes, webhookRoutes];

/** Every v1 operationId the router serves (filled as routers are built; for coverage checks). */
export const V1_OPERATIONS = new Set<string>();

export function v1Router({ store, operation, requestCount, tokens, oauth }: V1Parts): Router {
  const v1 = express.Router();
  v1.use(requestCount.middleware(), requireAnyToken(tokens, oauth), express.json({ limit: '5mb' }), express.urlencoded({ extended: false }));
  const named = (name: string): RequestHandler => {
    V1_OPERATIONS.add(name);
    return operation(name);
  };
  for (const build of MODULES) v1.use(build(store, named));
  return v1;
}
