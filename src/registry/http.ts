/**
 * One HTTP request to a Confluent-compatible registry: basic auth (Confluent Cloud's API key and secret,
 * or a registry behind an authenticating proxy), a private CA for https, a timeout, and a RegistryError
 * that says whether waiting may fix the failure. The credentials travel only in the Authorization
 * header: they are never part of a URL, a message or a log line.
 */
import { Agent, request } from 'undici';
import { shownBase } from '../redact.ts';
import { describeError } from '../retry.ts';
import { RegistryError, explainStatus, isRetriableStatus, tlsAdvice } from './errors.ts';

export interface RegistryAuth {
  /** HTTP basic auth. */
  readonly username?: string;
  readonly password?: string;
  /** A private CA (PEM) for an https registry; replaces the bundled CAs. */
  readonly ca?: { readonly path: string; readonly pem: string };
}

export interface RegistryRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly body?: unknown;
  /** What is being done, for messages (`reading schema id 7`). */
  readonly what: string;
  /** Statuses answered by the registry itself (an `error_code` body) that mean "absent": undefined is returned. */
  readonly absentOn?: readonly number[];
  /** A message for a 404, for calls where it has a precise meaning (a schema id, a subject). */
  readonly on404?: string;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export class RegistryHttp {
  /** The URL as shown in messages: credentials and query replaced by `***`. */
  readonly shown: string;
  private readonly agent: Agent;
  private readonly authorization: string | undefined;

  /** The URL requests go to, without credentials. */
  readonly url: string;

  constructor(
    url: string,
    auth: RegistryAuth = {},
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.shown = shownBase(url);
    // Credentials travel in the header only (config-registry.ts took any from the URL).
    const u = new URL(url);
    u.username = '';
    u.password = '';
    this.url = u.href.replace(/\/+$/, '');
    this.agent = new Agent({ connect: { timeout: timeoutMs, ...(auth.ca ? { ca: [auth.ca.pem] } : {}) }, keepAliveTimeout: 30_000 });
    this.authorization = auth.username !== undefined ? `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`, 'utf8').toString('base64')}` : undefined;
  }

  /** The parsed JSON answer; undefined for an `absentOn` status. */
  async send(r: RegistryRequest, signal?: AbortSignal): Promise<unknown> {
    const where = `schema registry ${this.shown}: ${r.what}`;
    let res;
    try {
      res = await request(`${this.url}${r.path}`, {
        method: r.method,
        dispatcher: this.agent,
        headers: {
          accept: 'application/vnd.schemaregistry.v1+json, application/json',
          ...(r.body !== undefined ? { 'content-type': 'application/vnd.schemaregistry.v1+json' } : {}),
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
        body: r.body === undefined ? undefined : JSON.stringify(r.body),
        // A registry that accepts connections and never answers is an outage too: waited out, and logged.
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal,
      });
    } catch (err) {
      const tls = tlsAdvice(codeOf(err));
      if (tls) throw new RegistryError(`${where} failed: TLS: ${tls} (${describeError(err)})`, false, undefined, { cause: err });
      // No answer: refused, reset, unresolvable for now, or the timeout. Waiting may fix all of them.
      throw new RegistryError(`${where} failed: no answer (${describeError(err)}); is SCHEMA_REGISTRY_URL right and the registry running?`, true, undefined, { cause: err });
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw new RegistryError(`${where} failed: the answer was cut off (${describeError(err)})`, true, res.statusCode, { cause: err });
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new RegistryError(`${where} failed: the answer is not JSON (${JSON.stringify(text.slice(0, 80))}); is SCHEMA_REGISTRY_URL a Confluent-compatible API?`, false, status);
      }
    }
    if (r.absentOn?.includes(status) && /error_code/.test(text)) return undefined;
    if (isRetriableStatus(status)) throw new RegistryError(`${where} failed: HTTP ${status} ${text.slice(0, 200)}`, true, status);
    const explained = status === 404 && r.on404 ? r.on404 : explainStatus(status, text, { shownUrl: this.shown, withCredentials: this.authorization !== undefined });
    throw new RegistryError(`${where} failed: ${explained}`, false, status);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

/** The first `code` in an error's cause chain (undici wraps the socket's error). */
function codeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_CONNECT_TIMEOUT') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
