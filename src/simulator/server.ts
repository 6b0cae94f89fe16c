/**
 * The local Pipedrive: an express app answering Pipedrive's v2 and v1 APIs from in-memory
 * stores on one controllable clock.
 *
 * Request path: /_sim admin (no token) | /oauth (the OAuth server: its own client auth) | /api/v2, /v1,
 * /api/v1: count → auth (API token or OAuth bearer) → body → route: operation(name) → interceptors
 * (rate limit, faults) → handler → JSON errors.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { SimClock } from './clock.ts';
import { adminRouter } from './http/admin.ts';
import { ApiError, errorBody } from './http/envelope.ts';
import { FaultInjector } from './http/faults.ts';
import type { FaultRuleInput } from './http/faults-rules.ts';
import { operationSeam, RequestCounter, type SimInterceptor } from './http/middleware.ts';
import { RateLimiter, type RateLimitOptions } from './http/rate-limit.ts';
import { loadTokenCosts } from './http/rate-limit-costs.ts';
import { companyTokens, requireAnyToken, type SimToken } from './http/tokens.ts';
import { oauthAdminRoutes } from './oauth/admin.ts';
import { oauthRoutes } from './oauth/routes.ts';
import { SimOAuth, type SimOAuthOptions } from './oauth/state.ts';
import { dealRoutes } from './routes/v2/deals.ts';
import { v2EntityRoutes } from './routes/v2/index.ts';
import { V1_PATHS, v1Router } from './routes/v1/index.ts';
import { deriveToken, seedDeals } from './seed.ts';
import { ACCOUNT } from './store/account.ts';
import { createStore, type SimStore } from './store/index.ts';
import { webhooksAdminRoutes } from './webhooks/admin.ts';
import { WebhookDelivery, type WebhookDeliveryOptions } from './webhooks/delivery.ts';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Seed for generated data (default 1) and, when given, for the token. */
  seed?: number;
  /** Default: derived from `seed` when given, else random. */
  token?: string;
  /** Number of generated deals (default 0). */
  deals?: number;
  clock?: SimClock;
  /**
   * Token budget and burst limits (see http/rate-limit.ts). Passing it turns refusals (429) on;
   * without it the limiter only counts and sends the x-ratelimit headers.
   */
  rateLimit?: RateLimitOptions;
  /** Fault rules active from the start (see http/faults-rules.ts); more via `sim.faults.add()`. */
  faults?: FaultRuleInput[];
  /** More users' API tokens ({token, userId, admin}); `token` stays the admin's (user 1). */
  tokens?: SimToken[];
  /** The OAuth server (/oauth/*): apps, token lifetimes, rotation; default one sandbox app from the seed. */
  oauth?: SimOAuthOptions;
  /** Webhook deliveries: retry schedule, timeout, fault rules (see webhooks/delivery.ts, webhooks/faults.ts). */
  webhooks?: WebhookDeliveryOptions;
}

export interface Simulator {
  /** e.g. http://127.0.0.1:PORT — without /api/v2. */
  baseUrl: string;
  token: string;
  clock: SimClock;
  store: SimStore;
  requestCount: RequestCounter;
  /** Runs, in order, after a route matched and before its handler; mutable at runtime. */
  interceptors: SimInterceptor[];
  /** Token budget, burst window and their counters: `sim.rateLimit.stats()`, `.configure()`, `.reset()`. */
  rateLimit: RateLimiter;
  /** Injected faults: `sim.faults.add(rule)`, `.clear()`, `.stats()`. */
  faults: FaultInjector;
  /** The OAuth server: `sim.oauth.registered[0]` is the sandbox app; `.configure()`, `.stats()`, `.revokeAll()`. */
  oauth: SimOAuth;
  /** Webhook deliveries: `sim.webhooks.stats()`, `.attempts`, `.faults.add()`, `.runDue()`, `.settled()`. */
  webhooks: WebhookDelivery;
  app: Express;
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const clock = opts.clock ?? new SimClock();
  const token = opts.token ?? deriveToken(opts.seed);
  if (token === '') throw new Error('startSimulator: token must not be empty');
  const store = createStore(clock);
  if (opts.deals) seedDeals(store, opts.seed ?? 1, opts.deals);

  const requestCount = new RequestCounter();
  const rateLimit = new RateLimiter(clock, await loadTokenCosts(), opts.rateLimit ? { enforce: true, ...opts.rateLimit } : {});
  const faults = new FaultInjector(clock, opts.seed ?? 1, opts.faults);
  // Rate limit first: a faulted call has been charged, as on the real API.
  const interceptors: SimInterceptor[] = [rateLimit.interceptor(), faults.interceptor()];
  const oauth = new SimOAuth(clock, { userId: ACCOUNT.tokenUserId, admin: true }, opts.oauth, opts.seed);
  let baseUrl = '';
  // After seeding: the generated account's past is not delivered (no webhook exists yet anyway).
  const webhooks = new WebhookDelivery(store, clock, { seed: opts.seed ?? 1, ...opts.webhooks });
  const app = buildApp({ clock, store, tokens: companyTokens(token, opts.tokens), requestCount, interceptors, rateLimit, faults, oauth, webhooks, baseUrl: () => baseUrl });

  const server = await listen(app, opts.port ?? 0, opts.host ?? '127.0.0.1');
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  baseUrl = `http://${host}:${port}`;
  return {
    baseUrl,
    token,
    clock,
    store,
    requestCount,
    interceptors,
    rateLimit,
    faults,
    oauth,
    webhooks,
    app,
    close: async () => {
      await webhooks.close();
      await close(server);
    },
  };
}

interface AppParts {
  clock: SimClock;
  store: SimStore;
  tokens: SimToken[];
  requestCount: RequestCounter;
  interceptors: SimInterceptor[];
  rateLimit: RateLimiter;
  faults: FaultInjector;
  oauth: SimOAuth;
  webhooks: WebhookDelivery;
  /** The simulator's own URL once it listens: the default `api_domain` of OAuth token answers. */
  baseUrl: () => string;
}

function buildApp({ clock, store, tokens, requestCount, interceptors, rateLimit, faults, oauth, webhooks, baseUrl }: AppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The Date header tells clients the server's (simulated) time, as a real server's clock would.
  app.use((_req, res, next) => {
    res.setHeader('Date', clock.now().toUTCString());
    next();
  });
  app.use('/_sim', express.json(), adminRouter(clock, requestCount, { rateLimit, faults }), oauthAdminRoutes(oauth), webhooksAdminRoutes(webhooks));
  // Pipedrive's OAuth server lives on its own host; here it shares the simulator's (PIPEDRIVE_OAUTH_URL = the sim URL).
  app.use('/oauth', oauthRoutes(oauth, baseUrl));

  // Count first (401s and malformed bodies are requests too); parse bodies only once authenticated.
  const operation = operationSeam(interceptors);
  const v2 = express.Router();
  v2.use(requestCount.middleware(), requireAnyToken(tokens, oauth), express.json({ limit: '5mb' }));
  v2.use(v2EntityRoutes(store, operation)); // before deals: /deals/products is not /deals/:id
  v2.use(dealRoutes(store, operation));
  app.use('/api/v2', v2);
  app.use(V1_PATHS, v1Router({ store, operation, requestCount, tokens, oauth }));

  app.use((_req, res) => {
    res.status(404).json(errorBody('Unknown method .'));
  });
  app.use(jsonErrors);
  return app;
}

/** Every failure is Pipedrive-shaped JSON; nothing about the request (it may hold the token) is logged. */
const jsonErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) return next(err);
  if (err instanceof ApiError) {
    res.status(err.status).json(err.body);
    return;
  }
  const e = err as { type?: string; status?: number };
  if (e.type === 'entity.parse.failed') {
    res.status(400).json(errorBody('Malformed JSON body'));
    return;
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    res.status(e.status).json(errorBody(String((err as Error).message)));
    return;
  }
  console.error('pipedrive simulator: internal error:', err instanceof Error ? err.stack : err);
  res.status(500).json(errorBody('Internal server error'));
};

function listen(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.once('error', reject);
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // Keep-alive connections would hold close() open; the simulator owns them all.
    server.closeAllConnections();
  });
}
