/**
 * How a request proves who it is for. The client asks its auth for the base URL and headers of each
 * request, and tells it about a 401; everything else (which token, where it is stored, when it is
 * refreshed) stays behind this interface. Two implementations: an API token (here) and OAuth 2.0
 * (oauth.ts).
 */
import { API_TOKEN_REMEDY } from './errors.ts';

export interface RequestCredentials {
  /** e.g. https://acme.pipedrive.com — no trailing slash. */
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Which credentials these are: passed back to `unauthorized` so a 401 refreshes only once. */
  readonly generation: number;
}

export interface PipedriveAuth {
  /** Credentials for the next request (OAuth: refreshed first when the access token is about to expire). */
  credentials(signal?: AbortSignal): Promise<RequestCredentials>;
  /**
   * The API answered 401 to credentials of `generation`. True when newer credentials are ready (someone
   * refreshed meanwhile, or this call did) and the request is worth repeating once; false when not.
   */
  unauthorized(generation: number, signal?: AbortSignal): Promise<boolean>;
  /** What a 401 that survived `unauthorized` means, and what the operator should do. */
  readonly unauthorizedRemedy: string;
}

/** A user's API token, sent as `x-api-token` (the header Pipedrive documents; never the query parameter). */
export class ApiTokenAuth implements PipedriveAuth {
  readonly unauthorizedRemedy = API_TOKEN_REMEDY;
  private readonly creds: RequestCredentials;

  constructor(baseUrl: string, apiToken: string) {
    this.creds = { baseUrl: baseUrl.replace(/\/+$/, ''), headers: { 'x-api-token': apiToken }, generation: 0 };
  }

  async credentials(): Promise<RequestCredentials> {
    return this.creds;
  }

  /** An API token cannot be renewed: a 401 is final. */
  async unauthorized(): Promise<boolean> {
    return false;
  }
}
