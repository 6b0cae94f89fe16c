/**
 * Webhook settings of a connector (issue 14): where Pipedrive sends its webhooks and how the receiver
 * (pipedrive/webhook-receiver.ts) checks them. Off unless WEBHOOK_PUBLIC_URL is set.
 *   WEBHOOK_PUBLIC_URL   the URL Pipedrive posts to, as the internet sees it (the receiver may sit behind a
 *                        reverse proxy / TLS terminator; its path is not interpreted: any path is accepted)
 *   WEBHOOK_PORT         the receiver's port on this host (default 9480)
 *   WEBHOOK_HOST         the address it listens on (default 0.0.0.0; 127.0.0.1 behind a reverse proxy on the same host)
 *   WEBHOOK_USER         HTTP basic auth user Pipedrive is given (default pipedrive-cdc-<connector>)
 *   WEBHOOK_PASSWORD(_FILE)  its password; unset, a random one is generated at each start (the
 *                        connector's webhooks are then registered again with it, see pipedrive/webhooks.ts)
 *   WEBHOOK_MIN_PASS_GAP_MS  least time between two hinted passes of a table (default 0: each hint at
 *                        once); caps the tokens hints spend under a steady stream of changes
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, secret, type Env } from './config-env.ts';
import { redactUrl } from './redact.ts';

export interface WebhookSettings {
  readonly publicUrl: string;
  readonly port: number;
  /** WEBHOOK_HOST: the address the receiver listens on. */
  readonly host: string;
  readonly user: string;
  readonly password: string;
  /** True when the password was generated at start (no setting): registered webhooks are replaced. */
  readonly generatedPassword: boolean;
  /** WEBHOOK_MIN_PASS_GAP_MS: least time between two hinted passes of a table. */
  readonly minPassGapMs: number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

const schema = z.object({
  publicUrl: z.string().url('must be a URL such as https://cdc.example.com/pipedrive-webhooks').refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL'),
  port: z.coerce.number().int('must be a whole number').min(0).max(65_535).default(9480),
  host: z.string().regex(/^[0-9a-zA-Z.:-]+$/, 'must be an IP address or host name to listen on, such as 127.0.0.1 or 0.0.0.0').default('0.0.0.0'),
  user: z.string().min(1).max(255).refine((u) => !u.includes(':'), 'must not contain ":" (HTTP basic auth cannot carry it)'),
  password: z.string().min(16, 'too short; use a random secret of at least 16 characters (e.g. openssl rand -hex 24)').max(255),
  minPassGapMs: z.coerce.number().int('must be a whole number of milliseconds').min(0, 'must be 0 or more').max(3_600_000, 'at most 3600000 (an hour); the poll interval covers longer').default(0),
});

const KEYS = { publicUrl: 'WEBHOOK_PUBLIC_URL', port: 'WEBHOOK_PORT', host: 'WEBHOOK_HOST', user: 'WEBHOOK_USER', password: 'WEBHOOK_PASSWORD', minPassGapMs: 'WEBHOOK_MIN_PASS_GAP_MS' } as const;

export function loadWebhookSettings(env: Env, connectorName: string, allowInsecureHttp = false): WebhookSettings | undefined {
  const publicUrl = env['WEBHOOK_PUBLIC_URL']?.trim();
  const given = secret(env, 'WEBHOOK_PASSWORD');
  if (!publicUrl) {
    if (given || env['WEBHOOK_USER'] || env['WEBHOOK_PORT'] || env['WEBHOOK_HOST'] || env['WEBHOOK_MIN_PASS_GAP_MS']) throw new ConfigError('WEBHOOK_PUBLIC_URL: required when other WEBHOOK_* settings are set (the URL Pipedrive posts webhooks to)');
    return undefined;
  }
  const parsed = schema.safeParse({
    publicUrl,
    port: env['WEBHOOK_PORT'] || undefined,
    host: env['WEBHOOK_HOST']?.trim() || undefined,
    user: env['WEBHOOK_USER'] || `pipedrive-cdc-${connectorName}`,
    password: given ?? randomBytes(24).toString('hex'),
    minPassGapMs: env['WEBHOOK_MIN_PASS_GAP_MS'] || undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = KEYS[issue.path[0] as keyof typeof KEYS] ?? 'WEBHOOK_*';
    throw new ConfigError(`${key}: ${issue.message}`);
  }
  const url = new URL(parsed.data.publicUrl);
  // Pipedrive sends the basic-auth credentials with every webhook: over plain http they cross the internet readable.
  if (url.protocol === 'http:' && !allowInsecureHttp && !LOOPBACK.has(url.hostname)) {
    throw new ConfigError(`WEBHOOK_PUBLIC_URL: ${redactUrl(publicUrl)} is plain http, so the webhook credentials would cross the network unencrypted; put the receiver behind https (a TLS-terminating reverse proxy), or set PIPEDRIVE_ALLOW_INSECURE_HTTP=true on a trusted network`);
  }
  if (url.username || url.password) throw new ConfigError('WEBHOOK_PUBLIC_URL: must not hold credentials (user:password@); set WEBHOOK_USER and WEBHOOK_PASSWORD');
  return { ...parsed.data, publicUrl: parsed.data.publicUrl, generatedPassword: given === undefined };
}

/**
 * The settings of a connector created through the admin API (its stored `webhooks`, password generated at
 * creation), checked as the environment's are; a refusal names the request's field (`webhooks.publicUrl`).
 */
export function definedWebhookSettings(w: { publicUrl: string; port: number; host: string; user: string; password: string }, connectorName: string, allowInsecureHttp: boolean): WebhookSettings {
  const field: Record<string, string> = { PUBLIC_URL: 'publicUrl', PORT: 'port', HOST: 'host', USER: 'user' };
  try {
    return loadWebhookSettings({ WEBHOOK_PUBLIC_URL: w.publicUrl, WEBHOOK_PORT: String(w.port), WEBHOOK_HOST: w.host, WEBHOOK_USER: w.user, WEBHOOK_PASSWORD: w.password }, connectorName, allowInsecureHttp)!;
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.message.replace(/^WEBHOOK_([A-Z_]+)/, (all, k: string) => (field[k] ? `webhooks.${field[k]}` : all)));
    throw err;
  }
}

/** The settings without the password, for the `starting` line. */
export function describeWebhookSettings(w: WebhookSettings): Record<string, unknown> {
  return { publicUrl: redactUrl(w.publicUrl), port: w.port, ...(w.host !== '0.0.0.0' ? { host: w.host } : {}), user: w.user, password: w.generatedPassword ? 'generated' : 'set', ...(w.minPassGapMs > 0 ? { minPassGapMs: w.minPassGapMs } : {}) };
}
