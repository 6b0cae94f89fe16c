/**
 * The admin API seen from the command line: one request helper for every command on top of the API
 * (status, tables, block, hash, filter, pause, resume, audit, and any added later), and the readable
 * table they print by default.
 */
import { ConfigError, secret } from '../config-env.ts';
import { redactUrl } from '../redact.ts';

export type Json = Record<string, unknown>;

export interface AdminClient {
  /** The API's JSON answer; throws ConfigError for a refused token (exit 2), Error for anything else (exit 1). */
  request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Json>;
}

/**
 * `changes`: the command changes something, so it needs ADMIN_API_TOKEN; readers use the read-only
 * token when both are set.
 */
export function adminClient(opts: { url?: string; env: NodeJS.ProcessEnv; changes: boolean }): AdminClient {
  const base = (opts.url ?? opts.env.ADMIN_API_URL ?? 'http://127.0.0.1:9470').replace(/\/+$/, '');
  const token = opts.changes ? secret(opts.env, 'ADMIN_API_TOKEN') : (secret(opts.env, 'ADMIN_API_READONLY_TOKEN') ?? secret(opts.env, 'ADMIN_API_TOKEN'));
  if (!token) {
    throw new ConfigError(
      opts.changes
        ? 'ADMIN_API_TOKEN: required to change settings (the read-only token cannot), the admin token the producer was started with; or ADMIN_API_TOKEN_FILE'
        : "ADMIN_API_READONLY_TOKEN: required (or ADMIN_API_TOKEN), the token the producer's admin API was started with; or its _FILE",
    );
  }
  return {
    async request(method, path, body) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        throw new Error(`no admin API answers at ${redactUrl(base)} (${(err as { cause?: { code?: string } }).cause?.code ?? 'error'}): is \`pipedrive-cdc run\` running with ADMIN_API_TOKEN set, on ADMIN_API_PORT? Set ADMIN_API_URL or --url`);
      }
      const answer = (await res.json().catch(() => ({}))) as Json;
      if (res.status === 401) throw new ConfigError('ADMIN_API_READONLY_TOKEN / ADMIN_API_TOKEN: refused by the admin API (401); use a token the producer was started with');
      if (res.status === 403) throw new ConfigError(`refused by the admin API (403): ${String(answer.message ?? 'forbidden')}; changes need ADMIN_API_TOKEN`);
      if (!res.ok) throw new Error(String(answer.message ?? `the admin API answered ${res.status}`));
      return answer;
    },
  };
}

export function show(v: unknown): string {
  return v === null || v === undefined ? '—' : String(v);
}

/** Columns padded to their widest cell. */
export function grid(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  const cells = [header, ...rows.map((r) => r.map(show))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
