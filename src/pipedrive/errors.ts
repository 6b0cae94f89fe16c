/**
 * Errors from talking to Pipedrive. One root with a `retriable` flag (as kafkajs does): retry code reads only
 * that flag; the message says what went wrong and what to do. `scope` tells the engine how far a failure
 * reaches once retries are exhausted or pointless: one table (a plan or permission lacking an endpoint, a
 * malformed row) or the whole connector (a wrong token).
 */
export type FailureScope = 'table' | 'connector';

export class PipedriveError extends Error {
  override name = 'PipedriveError';
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly scope: FailureScope = 'table',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A non-2xx answer. `status` 0 means the connection failed before an answer. */
export class PipedriveHttpError extends PipedriveError {
  override name = 'PipedriveHttpError';
  /** A 403 whose body is Cloudflare's HTML block page, not Pipedrive's JSON: transient, backed off like a 5xx. */
  readonly edgeBlock: boolean;
  constructor(
    readonly status: number,
    readonly path: string,
    readonly bodySnippet: string,
    readonly retryAfterMs: number | undefined,
    opts: { html?: boolean; origin?: string; unauthorizedRemedy?: string; method?: string } = {},
  ) {
    const edgeBlock = status === 403 && opts.html === true;
    super(describe(status, path, bodySnippet, edgeBlock, opts.origin, opts.unauthorizedRemedy, opts.method), edgeBlock || isRetriableStatus(status), status === 401 ? 'connector' : 'table');
    this.edgeBlock = edgeBlock;
  }
}

/**
 * Credentials that waiting cannot fix: a refresh token Pipedrive refused (revoked, unused for 60 days,
 * replaced), a client id/secret it does not know, a missing or unreadable token file. The producer
 * stops; the message says what to run or set.
 */
export class PipedriveAuthError extends PipedriveError {
  override name = 'PipedriveAuthError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, 'connector', options);
  }
}

/** What a 401 with an API token means, and what to do about it. */
export const API_TOKEN_REMEDY = 'the API token is wrong or revoked; set PIPEDRIVE_API_TOKEN to a valid token (Settings → Personal preferences → API)';

/** A 2xx answer whose body is not what the API documents (bad JSON, wrong envelope): retried, as proxies and cut connections cause them. */
export class PipedriveResponseError extends PipedriveError {
  override name = 'PipedriveResponseError';
  constructor(message: string) {
    super(message, true);
  }
}

/**
 * A row that does not hold what its table declares (a required field missing, a value of the wrong type).
 * Re-reading the same page gives the same row, so it is not retried at once: the table stops before the
 * row (its cursor stays), the others go on, and the table is tried again later.
 */
export class PipedriveDataError extends PipedriveError {
  override name = 'PipedriveDataError';
  constructor(
    message: string,
    readonly table: string,
    readonly rowId: unknown,
    readonly field: string | undefined,
  ) {
    super(message, false, 'table');
  }
}

function isRetriableStatus(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

/** `origin` is the base URL as `shownBase` shows it (never credentials or a query). */
function describe(status: number, path: string, body: string, edgeBlock: boolean, origin: string | undefined, unauthorizedRemedy = API_TOKEN_REMEDY, method = 'GET'): string {
  const where = `${method} ${origin ?? ''}${path}`;
  switch (status) {
    case 0:
      return `${where}: no answer from Pipedrive (${body})`;
    case 401:
      return `${where}: 401 unauthorized — ${unauthorizedRemedy}`;
    case 402:
      return `${where}: 402 payment required — the company's Pipedrive plan does not include this endpoint; upgrade the plan or leave the table out (TABLES)`;
    case 403:
      return edgeBlock
        ? `${where}: 403 from Pipedrive's edge: ${body} (Cloudflare's block page, served for a while after rate-limit bursts)`
        : `${where}: 403 forbidden — the token's user lacks the permission for this endpoint (use an admin user's token, or leave the table out): ${body}`;
    case 404:
      return `${where}: 404 not found — check PIPEDRIVE_BASE_URL (the company domain, e.g. https://acme.pipedrive.com) and whether the endpoint exists for this account`;
    case 429:
      return `${where}: 429 rate limited; waiting for the window to reset`;
    default:
      return `${where}: HTTP ${status}: ${body}`;
  }
}
