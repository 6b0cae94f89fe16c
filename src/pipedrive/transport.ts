/**
 * How requests to Pipedrive (the API and its OAuth server) leave the process: through the proxies the
 * environment names (HTTPS_PROXY / HTTP_PROXY / NO_PROXY), and never as plain http to a host off this
 * machine unless the operator allowed it — an access token or client secret sent in clear text over a
 * network is as good as published.
 */
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { redactUrl } from '../redact.ts';
import { PipedriveError } from './errors.ts';

/** Proxies for Pipedrive calls, as read from the environment (config.ts). Empty = none. */
export interface ProxySettings {
  /** For http:// URLs (and for https:// ones when `httpsProxy` is empty, as undici and most Node tools do). */
  readonly httpProxy?: string;
  /** For https:// URLs: requests are tunnelled with CONNECT, so the proxy sees the host, not the traffic. */
  readonly httpsProxy?: string;
  /** Hosts (`host`, `.domain`, `host:port`, `*`) reached directly, comma- or space-separated. */
  readonly noProxy?: string;
}

export interface DispatcherOptions {
  readonly proxy?: ProxySettings;
  /** Keep-alive connections per origin; the rate-limit governor allows little parallelism anyway. */
  readonly connections?: number;
}

/**
 * One dispatcher for every Pipedrive call. With a proxy configured it is undici's EnvHttpProxyAgent fed
 * the parsed settings (not process.env, so what config validated and showed is what is used). Plain
 * http:// targets are forwarded as absolute-URI requests (what curl does) rather than tunnelled, so the
 * proxy logs each request line; https:// targets are always tunnelled.
 */
export function pipedriveDispatcher(opts: DispatcherOptions = {}): Dispatcher {
  const base = { keepAliveTimeout: 30_000, connections: opts.connections ?? 4 };
  const p = opts.proxy ?? {};
  if (!p.httpProxy && !p.httpsProxy) return new Agent(base);
  // '' (not undefined) keeps EnvHttpProxyAgent from falling back to process.env.
  return new EnvHttpProxyAgent({ ...base, httpProxy: p.httpProxy ?? '', httpsProxy: p.httpsProxy ?? '', noProxy: p.noProxy ?? '', proxyTunnel: false });
}

/**
 * Hosts that are this machine: traffic to them never crosses a network. 0.0.0.0 and [::] are the
 * unspecified addresses a server bound to every interface prints (`sim --host 0.0.0.0`); connecting to
 * them reaches this machine too.
 */
export function isLocalHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '::' || h === '0.0.0.0') return true;
  if (/^::ffff:127\./.test(h)) return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The setting that allows plain http to a host off this machine, named in every refusal. */
export const INSECURE_HTTP_SETTING = 'PIPEDRIVE_ALLOW_INSECURE_HTTP';

/**
 * Why `url` may not carry Pipedrive credentials, or undefined when it may: https anywhere, http only to
 * this machine or when allowed. `what` names where the URL came from (a setting, or the token response).
 */
export function insecureReason(url: string, what: string, allowInsecureHttp: boolean): string | undefined {
  let p: URL;
  try {
    p = new URL(url);
  } catch {
    return `${what}: not a URL`;
  }
  if (p.protocol === 'https:') return undefined;
  if (p.protocol !== 'http:') return `${what}: must be https (got ${p.protocol})`;
  if (allowInsecureHttp || isLocalHost(p.hostname)) return undefined;
  return (
    `${what}: ${redactUrl(url)} is plain http to another host, so Pipedrive credentials would cross the network unencrypted; ` +
    `use https, or set ${INSECURE_HTTP_SETTING}=true if this network is trusted (e.g. a local Pipedrive simulator in a container network)`
  );
}

/** Thrown at run time for a URL the configuration could not see in advance (the OAuth token's api_domain). */
export class InsecureTransportError extends PipedriveError {
  override name = 'InsecureTransportError';
  constructor(message: string) {
    super(message, false, 'connector');
  }
}
