/** The local Pipedrive, for tests, the demo and benchmarks. */
export { startSimulator, type Simulator, type SimulatorOptions } from './server.ts';
export { SimClock, type SimClockOptions } from './clock.ts';
export { runSim, parseSimArgs, SIM_USAGE } from './cli.ts';
export { deriveToken, seedDeals } from './seed.ts';
export { operationOf, type SimInterceptor, RequestCounter } from './http/middleware.ts';
export { createStore, DealStore, DEAL_FIELDS, type SimStore, type Deal, type DealChanges, type DealStatus } from './store/index.ts';
export { RateLimiter, PLANS, type Plan, type RateLimitOptions, type RateLimitStats } from './http/rate-limit.ts';
export { FaultInjector, type FaultRuleState } from './http/faults.ts';
export { FAULT_KINDS, type FaultKind, type FaultRuleInput } from './http/faults-rules.ts';
export type { SimToken } from './http/tokens.ts';
export { SimOAuth, sandboxClient, type SimOAuthClient, type SimOAuthOptions, type SimOAuthStats, type TokenAnswer } from './oauth/state.ts';
