import { Agent, request } from 'undici';
import type { Logger } from '../observe/log.ts';
import { backoffMs, describeError, sleepUnlessAborted } from '../retry.ts';
import type { RateGovernor } from './governor.ts';
import { PipedriveHttpError, PipedriveResponseError, type PipedriveError } from './errors.ts';

/**
 * HTTP access to one Pipedrive company: auth header, timeouts, retries with backoff for retriable errors,
 * waiting out 429s by the rate-limit headers. Knows nothing about tables.
 */
export interface PipedriveClientOptions {
  /** e.g. https://acme.pipedrive.com or the simulator's URL; no trailing path. */
  readonly baseUrl: string;
  readonly apiToken: string;
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

export type ResponseHeaders = Readonly<Record<string, string | undefined>>;

export interface JsonResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: unknown;
}

export class PipedriveClient {
  private readonly agent = new Agent({ keepAliveTimeout: 30_000, connections: 4 });
  private readonly baseUrl: string;
  /** Scheme, host and port of the base URL: what messages show (never credentials or a query). */
  private readonly origin: string;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Difference between the API's clock (its Date header) and ours, from the latest answer. */
  private serverSkewMs = 0;
  private serverTimeKnown = false;

  constructor(private readonly options: PipedriveClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const base = new URL(this.baseUrl);
    this.origin = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.sleep = options.sleep ?? sleepUnlessAborted;
  }

  /**
   * GET a JSON document, retrying retriable failures (no answer, 5xx, Cloudflare's HTML 403, bad bodies)
   * with capped exponential backoff — about a minute and a half in all — before giving up with the last,
   * still retriable, error. `endpoint` is a label for metrics (no ids).
   */
  async getJson(path: string, query: Record<string, string>, endpoint = path, signal?: AbortSignal): Promise<JsonResponse> {
    const maxRetries = this.options.maxRetries ?? 8;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(path, query, endpoint, signal);
      } catch (err) {
        const e = err as PipedriveError;
        // 429s are waited out for as long as they last (the governor paces the retries); they use no retry.
        const rateLimited = e instanceof PipedriveHttpError && e.status === 429 && this.options.governor !== undefined;
        if (rateLimited) attempt--;
        if (!e.retriable || attempt >= maxRetries || signal?.aborted) throw err;
        const wait = e instanceof PipedriveHttpError && e.retryAfterMs !== undefined ? e.retryAfterMs : backoffMs(attempt, { initialMs: 500, maxMs: 30_000 });
        if (!rateLimited) {
          this.options.log?.('retrying', { dependency: 'pipedrive', what: `GET ${this.origin}${path}`, attempt: attempt + 1, delayMs: Math.round(wait), error: describeError(err) });
          this.options.onRetry?.();
        }
        await this.sleep(wait, signal);
      }
    }
  }

  private async attempt(path: string, query: Record<string, string>, endpoint: string, signal?: AbortSignal): Promise<JsonResponse> {
    const url = `${this.baseUrl}${path}?${new URLSearchParams(query).toString()}`;
    await this.options.governor?.acquire(() => this.serverNowMs(), signal);
    let res;
    try {
      res = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        headers: { 'x-api-token': this.options.apiToken, accept: 'application/json' },
        headersTimeout: this.options.timeoutMs ?? 60_000,
        bodyTimeout: this.options.timeoutMs ?? 60_000,
        signal,
      });
    } catch (err) {
      this.options.onResponse?.({ endpoint, status: 0, tokenCost: 0, headers: {} });
      if (signal?.aborted) throw err;
      throw new PipedriveHttpError(0, path, describeError(err), undefined, { origin: this.origin });
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
      throw new PipedriveHttpError(0, path, `body cut off: ${(err as Error).message}`, undefined, { origin: this.origin });
    }
    this.options.governor?.observe(headers, res.statusCode);
    this.options.onResponse?.({ endpoint, status: res.statusCode, tokenCost: Number(headers['x-token-cost'] ?? 0), headers });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const html = /text\/html/i.test(headers['content-type'] ?? '') || /^\s*</.test(text);
      throw new PipedriveHttpError(res.statusCode, path, html ? htmlTitle(text) : text.slice(0, 300), retryAfterMs(res.statusCode, headers), { html, origin: this.origin });
    }
    try {
      return { status: res.statusCode, headers, body: JSON.parse(text) };
    } catch {
      throw new PipedriveResponseError(`GET ${path}: response is not valid JSON (first bytes: ${JSON.stringify(text.slice(0, 80))})`);
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
    await this.agent.close();
  }
}

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
