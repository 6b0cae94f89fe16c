/**
 * The producer's side of the Pipedrive API: one client (proxies, auth, retries) with the governor that
 * plans around the rate limits and the daily budget, the meter of what the calls cost, and the pacer that
 * spaces steady-state rounds by the token budget share. They outlive the producer's sessions: a restarted
 * session paces by the spend before it.
 */
import type { Dispatcher } from 'undici';
import { TokenPacer } from './capture/token-pacer.ts';
import type { PipedriveSettings, ProducerConfig } from './config.ts';
import type { Logger } from './observe/log.ts';
import type { Metrics } from './observe/metrics.ts';
import { ApiTokenAuth, type PipedriveAuth } from './pipedrive/auth.ts';
import { PipedriveClient } from './pipedrive/client.ts';
import { RateGovernor } from './pipedrive/governor.ts';
import { OAuthAuth } from './pipedrive/oauth.ts';
import { OAuthServer } from './pipedrive/oauth-server.ts';
import { SpendMeter } from './pipedrive/spend-meter.ts';
import { TokenStore, type TokenStorage } from './pipedrive/token-store.ts';
import { pipedriveDispatcher } from './pipedrive/transport.ts';
import type { Dependency } from './retry.ts';

export interface ProducerApi {
  readonly client: PipedriveClient;
  readonly governor: RateGovernor;
  /** What this connector's calls cost, from the answers' budget headers: the pacer charges polls of live tables from it. */
  readonly spend: SpendMeter;
  /** Undefined without a token budget share (TOKEN_BUDGET_SHARE off, or auto with POLL_INTERVAL_MS set). */
  readonly pacer: TokenPacer | undefined;
  /** Closes the client and its connections (the proxies' too). */
  close(): Promise<void>;
}

export interface ProducerApiOptions {
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly onRetry: (dependency: Dependency) => void;
  readonly tokenStorage?: TokenStorage;
  /** The budget the latest answer told (for the connector's status). */
  readonly budget: (b: { burstRemaining?: number; dailyTokensRemaining?: number }) => void;
}

export function producerApi(config: ProducerConfig, o: ProducerApiOptions): ProducerApi {
  const { metrics, log } = o;
  const connector = config.connectorName;
  // A labelled counter has no series until it is first counted: start the token count at 0, so rates and
  // increases over it are 0 rather than empty for an API that does not report token costs.
  metrics.apiTokensSpent.inc({ connector }, 0);
  const spend = new SpendMeter();
  const governor = new RateGovernor({
    dailyProbeMs: config.dailyBudgetProbeMs,
    onBudgetExhausted: (resetAtMs) => log('daily-budget-exhausted', { resetsAt: new Date(resetAtMs).toISOString() }),
  });
  const share = config.tokenBudgetShare;
  const pacer = share === undefined ? undefined : new TokenPacer({ share, dailyBudget: () => governor.dailyTokenLimit ?? config.dailyTokenBudget, minIntervalMs: config.pollIntervalMs });
  metrics.pollIntervalEffective.set({ connector }, config.pollIntervalMs / 1000);
  log('token-pacing', share === undefined
    ? { share: 'off', what: `rounds every POLL_INTERVAL_MS (${config.pollIntervalMs} ms) whatever they cost` }
    : { share, what: 'steady-state rounds are spaced so the polling of any 24 hours spends at most this share of the daily token budget (watch pipedrive_cdc_poll_interval_effective_seconds); POLL_INTERVAL_MS alone fixes the cadence, TOKEN_BUDGET_SHARE changes the share' });
  // One dispatcher (proxies) for the API and the OAuth server. The auth reads its token file here, so a
  // missing one stops the producer before it connects to anything.
  const dispatcher = pipedriveDispatcher({ proxy: config.pipedrive.proxy });
  const client = new PipedriveClient({
    auth: pipedriveAuth(config.pipedrive, dispatcher, log, o.tokenStorage),
    dispatcher,
    governor,
    log,
    onRetry: () => o.onRetry('pipedrive'),
    onResponse: ({ endpoint, status, tokenCost, headers }) => {
      metrics.apiRequests.inc({ connector, endpoint, status: String(status) });
      if (tokenCost > 0) metrics.apiTokensSpent.inc({ connector }, tokenCost);
      spend.observe(headers, tokenCost);
      const remaining = Number(headers['x-ratelimit-remaining']);
      if (Number.isFinite(remaining)) {
        metrics.apiRateLimitRemaining.set({ connector }, remaining);
        o.budget({ burstRemaining: remaining });
      }
      const daily = Number(headers['x-daily-ratelimit-token-remaining']);
      if (headers['x-daily-ratelimit-token-remaining'] !== undefined && Number.isFinite(daily)) {
        metrics.apiDailyTokensRemaining.set({ connector }, daily);
        o.budget({ dailyTokensRemaining: daily });
      }
    },
  });
  return {
    client, governor, spend, pacer,
    async close() {
      await client.close().catch(() => undefined);
      await dispatcher.close().catch(() => undefined);
    },
  };
}

/** The API token, or OAuth with its token file and the app's credentials. */
export function pipedriveAuth(settings: PipedriveSettings, dispatcher: Dispatcher, log: Logger, tokenStorage?: TokenStorage): PipedriveAuth {
  const a = settings.auth;
  if (a.kind === 'api-token') return new ApiTokenAuth(a.baseUrl, a.apiToken);
  return new OAuthAuth({
    server: new OAuthServer({ oauthUrl: a.oauthUrl, clientId: a.clientId, clientSecret: a.clientSecret, dispatcher }),
    store: tokenStorage ?? new TokenStore(a.tokenFile),
    clientId: a.clientId,
    allowInsecureHttp: settings.allowInsecureHttp,
    log,
  });
}
