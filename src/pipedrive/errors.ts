/**
 * Errors from talking to Pipedrive. One root with a `retriable` flag (as kafkajs does): retry code reads only
 * that flag; the message says what went wrong and what to do.
 */
export class PipedriveError extends Error {
  override name = 'PipedriveError';
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A non-2xx answer. `status` 0 means the connection failed before an answer. */
export class PipedriveHttpError extends PipedriveError {
  override name = 'PipedriveHttpError';
  constructor(
    readonly status: number,
    readonly path: string,
    readonly bodySnippet: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(describe(status, path, bodySnippet), isRetriableStatus(status));
  }
}

/** A 2xx answer whose body is not what the API documents (bad JSON, wrong shape, wrong field type). */
export class PipedriveResponseError extends PipedriveError {
  override name = 'PipedriveResponseError';
  constructor(message: string) {
    // Truncated or malformed bodies are usually transient (proxies, cut connections): retry.
    super(message, true);
  }
}

function isRetriableStatus(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

function describe(status: number, path: string, body: string): string {
  const where = `GET ${path}`;
  switch (status) {
    case 0:
      return `${where}: connection failed (${body}); will retry`;
    case 401:
      return `${where}: 401 unauthorized — the API token is wrong or revoked; set PIPEDRIVE_API_TOKEN to a valid token`;
    case 402:
      return `${where}: 402 payment required — the Pipedrive plan does not include this endpoint; disable the table`;
    case 403:
      return `${where}: 403 forbidden — the token's user may lack permission, or Cloudflare blocked the token after repeated rate-limit violations: ${body}`;
    case 404:
      return `${where}: 404 not found — check PIPEDRIVE_BASE_URL (company domain) and the endpoint`;
    case 429:
      return `${where}: 429 rate limited; waiting for the window to reset`;
    default:
      return `${where}: HTTP ${status}: ${body}`;
  }
}
