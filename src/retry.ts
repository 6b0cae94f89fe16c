/**
 * Waiting out transient failures. Every dependency (Pipedrive, Kafka, the schema registry, the database)
 * reports its errors with a `retriable` flag (kafkajs' convention, and ours in pipedrive/errors.ts,
 * registry/client.ts, kafka/errors.ts, sink/destinations): retry code reads only that flag. Waiting is
 * capped exponential backoff with jitter; each wait is logged and counted, so an outage is visible while
 * it lasts. Errors that waiting cannot fix are thrown at once.
 */
import type { Logger } from './observe/log.ts';

/** The systems a retry can be waiting for (the `dependency` label of the retry metric). */
export type Dependency = 'pipedrive' | 'kafka' | 'registry' | 'database';

export interface BackoffPolicy {
  /** Delay cap of the first retry. */
  readonly initialMs: number;
  /** Largest delay between two attempts. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

/** The delay before retry number `attempt` (0-based): half the capped exponential step plus up to as much jitter. */
export function backoffMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const step = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (Math.random() * step) / 2);
}

/** True when the error says waiting may fix it. */
export function isRetriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

/** The error's message, with the messages of its causes (kafkajs and undici nest the useful part). */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(msg);
    e = e instanceof Error ? (e.cause ?? (e as { originalError?: unknown }).originalError) : undefined;
  }
  return parts.join(': ');
}

export interface RetryOptions {
  readonly dependency: Dependency;
  /** What is being attempted, for the log line (`publishing deal batch`, `reading the state topic`). */
  readonly what: string;
  readonly log: Logger;
  /** Counts each retry (the `pipedrive_cdc_retries_total` metric). */
  readonly onRetry?: (dependency: Dependency) => void;
  readonly signal?: AbortSignal;
  readonly policy?: BackoffPolicy;
  /** Overrides the error's own `retriable` flag. */
  readonly retriable?: (err: unknown) => boolean;
  /** Gives up after this many attempts (default: never, for as long as the failure stays transient). */
  readonly maxAttempts?: number;
}

/** Thrown by `sleepUnlessAborted` and `withRetries` when the signal fires while waiting. */
export class Aborted extends Error {
  override name = 'Aborted';
  constructor() {
    super('stopped while waiting to retry');
  }
}

/** Sleeps `ms`, rejecting with Aborted as soon as the signal fires. */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new Aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds; a retriable failure is logged (`retrying`, with the dependency, what failed
 * and the delay) and retried after a backoff; anything else is thrown. After a success that followed
 * failures, one `recovered` line says so.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const retriable = opts.retriable ?? isRetriable;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await fn(attempt);
      if (attempt > 0) opts.log('recovered', { dependency: opts.dependency, what: opts.what, attempts: attempt + 1 });
      return result;
    } catch (err) {
      if (opts.signal?.aborted || !retriable(err) || (opts.maxAttempts !== undefined && attempt + 1 >= opts.maxAttempts)) throw err;
      const delayMs = backoffMs(attempt, opts.policy);
      opts.log('retrying', { dependency: opts.dependency, what: opts.what, attempt: attempt + 1, delayMs, error: describeError(err) });
      opts.onRetry?.(opts.dependency);
      await sleepUnlessAborted(delayMs, opts.signal);
    }
  }
}
