import { request, type Dispatcher } from 'undici';
import type { Logger } from '../observe/log.ts';
import { redactUrlsIn, shownBase } from '../redact.ts';
import { backoffMs, describeError, sleepUnlessAborted } from '../retry.ts';
import { ApiTokenAuth, type PipedriveAuth } from './auth.ts';
import type { RateGovernor } from './governor.ts';
import { PipedriveAuthError, PipedriveHttpError, PipedriveResponseError, type PipedriveError } from './errors.ts';
import { pipedriveDispatcher } from './transport.ts';

/**
 * HTTP access to one Pipedrive company: credentials from its auth (API token or OAuth), timeouts, retries
 * with backoff for retriable errors, one repeat after a 401 the auth could fix (a refreshed OAuth access
 * token), waiting out 429s by the rate-limit headers. Knows nothing about tables.
 */
export type PipedriveClientOptions = ClientCommonOptions &
  (
    | { readonly auth: PipedriveAuth }
    /** Shorthand for an API token: `{ auth: new ApiTokenAuth(baseUrl, apiToken) }`. */
    | { readonly baseUrl: string; readonly apiToken: string }
  );

export interface ClientCommonOptions {
  /** How requests leave the process (proxies; see transport.ts). The client closes only one it made itself. */
  readonly dispatcher?: Dispatcher;
  readonly timeoutMs?: number;
  readonly maxRetries?: number;
  /** Called once per HTTP answer (or failed attempt, status 0), for metrics. */
  readonly onResponse?: (info: { endpoint: string; status: number; tokenCost: number; headers: ResponseHeaders }) => void;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Shared by every table of the company: burst window, 429s, daily budget. */
  readonly governor?: RateGovernor;
  /** Each retry of a failed request is logged here (`retrying`, dependency pipedrive) and counted by `onRetry`. */
  readonly log?: Logger;
  readonly onRetry?: () => void;
}

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export type ResponseHeaders = Readonly<Record<string, string | undefined>>;

export interface JsonResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: unknown;
}

export class PipedriveClient {
  private readonly agent: Dispatcher;
  private readonly ownsAgent: boolean;
  private readonly auth: PipedriveAuth;
  /** The base URL of the latest request as messages show it (redacted; OAuth's api_domain may change it). */
  private shownBase = '';
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Difference between the API's clock (its Date header) and ours, from the latest answer. */
  private serverSkewMs = 0;
  private serverTimeKnown = false;

  constructor(private readonly options: PipedriveClientOptions) {
    if ('auth' in options) {
      this.auth = options.auth;
    } else {
      new URL(options.baseUrl); // a typo fails here, not on the first request
      this.auth = new ApiTokenAuth(options.baseUrl, options.apiToken);
      this.shownBase = shownBase(options.baseUrl);
    }
    this.ownsAgent = options.dispatcher === undefined;
    this.agent = options.dispatcher ?? pipedriveDispatcher();
    this.sleep = options.sleep ?? sleepUnlessAborted;
  }

  /**
   * GET a JSON document, retrying retriable failures (no answer, 5xx, Cloudflare's HTML 403, bad bodies)
   * with capped exponential backoff — about a minute and a half in all — before giving up with the last,
   * still retriable, error. `endpoint` is a label for metrics (no ids).
   */
  async getJson(path: string, query: Record<string, string>, endpoint = path, signal?: AbortSignal): Promise<JsonResponse> {
    return this.requestJson('GET', path, query, undefined, endpoint, signal);
  }

  /**
   * POST a JSON body (webhook registration), with getJson's retries and governor. A POST is not
   * idempotent: a retry after an answer was lost may create the thing twice, so callers reconcile by
   * listing afterwards (webhooks.ts deletes surplus subscriptions).
   */
  async postJson(path: string, body: unknown, endpoint = path, signal?: AbortSignal): Promise<JsonResponse> {
    return this.requestJson('POST', path, {}, body, endpoint, signal);
  }

  /** DELETE, with getJson's retries and governor (a repeated DELETE of a gone item answers 404). */
  async deleteJson(path: string, endpoint = path, signal?: AbortSignal): Promise<JsonResponse> {
    return this.requestJson('DELETE', path, {}, undefined, endpoint, signal);
  }

  private async requestJson(method: HttpMethod, path: string, query: Record<string, string>, body: unknown, endpoint: string, signal?: AbortSignal): Promise<JsonResponse> {
    const maxRetries = this.options.maxRetries ?? 8;
    let repeatedAfter401 = false;
    for (let attempt = 0; ; attempt++) {
      const used = { generation: -1 };
      try {
        return await this.attempt(method, path, query, body, endpoint, used, signal);
      } catch (err) {
        const e = err as PipedriveError;
        // A 401 the auth can fix (an OAuth access token expired or was replaced early) is repeated once, at once.
        if (e instanceof PipedriveHttpError && e.status === 401 && !repeatedAfter401 && used.generation >= 0) {
          repeatedAfter401 = true;
          if (await this.auth.unauthorized(used.generation, signal)) {
            attempt--;
            continue;
          }
        }
        // 429s are waited out for as long as they last (the governor paces the retries); they use no retry.
        const rateLimited = e instanceof PipedriveHttpError && e.status === 429 && this.options.governor !== undefined;
        if (rateLimited) attempt--;
        if (!e.retriable || attempt >= maxRetries || signal?.aborted) throw err;
        const wait = e instanceof PipedriveHttpError && e.retryAfterMs !== undefined ? e.retryAfterMs : backoffMs(attempt, { initialMs: 500, maxMs: 30_000 });
        if (!rateLimited) {
          this.options.log?.('retrying', { dependency: 'pipedrive', what: `${method} ${this.shownBase}${path}`, attempt: attempt + 1, delayMs: Math.round(wait), error: describeError(err) });
          this.options.onRetry?.();
        }
        await this.sleep(wait, signal);
      }
    }
  }

  private async attempt(method: HttpMethod, path: string, query: Record<string, string>, body: unknown, endpoint: string, used: { generation: number }, signal?: AbortSignal): Promise<JsonResponse> {
    await this.options.governor?.acquire(() => this.serverNowMs(), signal);
    // After the governor's wait: an access token must still be fresh when the request leaves.
    const creds = await this.auth.credentials(signal);
    used.generation = creds.generation;
    this.shownBase = shownBase(creds.baseUrl);
    const origin = this.shownBase;
    const qs = new URLSearchParams(query).toString();
    const url = `${creds.baseUrl}${path}${method === 'GET' || qs !== '' ? `?${qs}` : ''}`;
    let res;
    try {
      res = await request(url, {
        method,
        dispatcher: this.agent,
        headers: { ...creds.headers, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        headersTimeout: this.options.timeoutMs ?? 60_000,
        bodyTimeout: this.options.timeoutMs ?? 60_000,
        signal,
      });
    } catch (err) {
      this.options.onResponse?.({ endpoint, status: 0, tokenCost: 0, headers: {} });
      if (signal?.aborted) throw err;
      // Proxy errors may quote the proxy's URL, credentials included.
      const why = redactUrlsIn(describeError(err));
      if (/\(407\)/.test(why)) throw new PipedriveAuthError(`${method} ${origin}${path}: the proxy refused its credentials (407 Proxy Authentication Required); ${PROXY_REMEDY}`);
      throw new PipedriveHttpError(0, path, why, undefined, { origin, method });
    }
    const headers = flattenHeaders(res.headers);
    const serverDate = Date.parse(headers.date ?? '');
    if (Number.isFinite(serverDate)) {
      this.serverSkewMs = serverDate - Date.now();
      this.serverTimeKnown = true;
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      this.options.onResponse?.({ endpoint, status: 0, tokenCost: 0, headers });
      throw new PipedriveHttpError(0, path, `body cut off: ${redactUrlsIn((err as Error).message)}`, undefined, { origin, method });
    }
    this.options.governor?.observe(headers, res.statusCode);
    this.options.onResponse?.({ endpoint, status: res.statusCode, tokenCost: Number(headers['x-token-cost'] ?? 0), headers });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const html = /text\/html/i.test(headers['content-type'] ?? '') || /^\s*</.test(text);
      // Pipedrive's 401 is JSON; an HTML one comes from something in between (a proxy answering 401 for its own credentials).
      if (res.statusCode === 401 && html) {
        throw new PipedriveAuthError(`${method} ${origin}${path}: 401 with ${htmlTitle(text)}, not Pipedrive's JSON: a proxy or gateway in between refused the request; ${PROXY_REMEDY}`);
      }
      throw new PipedriveHttpError(res.statusCode, path, html ? htmlTitle(text) : text.slice(0, 300), retryAfterMs(res.statusCode, headers), {
        html,
        origin,
        method,
        unauthorizedRemedy: this.auth.unauthorizedRemedy,
      });
    }
    try {
      return { status: res.statusCode, headers, body: JSON.parse(text) };
    } catch {
      throw new PipedriveResponseError(`${method} ${path}: response is not valid JSON (first bytes: ${JSON.stringify(text.slice(0, 80))})`);
    }
  }

  /**
   * The API's current time (from its Date header, whole seconds): day-based schedules and Recents' 30-day
   * window are judged by the source's clock, not ours.
   */
  serverNowMs(): number {
    return Date.now() + this.serverSkewMs;
  }

  /** Whether an answer has told the API's clock yet (before that, serverNowMs is our clock). */
  get knowsServerTime(): boolean {
    return this.serverTimeKnown;
  }

  async close(): Promise<void> {
    if (this.ownsAgent) await this.agent.close();
  }
}

const PROXY_REMEDY = 'check the user and password in HTTPS_PROXY / HTTP_PROXY (or whatever sits between this host and Pipedrive), or NO_PROXY';

/** An HTML page in an error message: its title is what a reader needs, not the markup. */
function htmlTitle(text: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1]?.trim();
  return title ? `HTML page "${title}"` : 'an HTML page';
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): ResponseHeaders {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** On 429, wait for the burst window to reset (seconds in `x-ratelimit-reset`, or `retry-after`). */
function retryAfterMs(status: number, headers: ResponseHeaders): number | undefined {
  if (status !== 429) return undefined;
  const seconds = Number(headers['x-ratelimit-reset'] ?? headers['retry-after']);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 300) * 1000 + 100 : 2_000;
}
