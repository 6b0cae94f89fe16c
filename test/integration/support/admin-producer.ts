/** A producer with its admin API in the test's process, for the admin API's integration tests. */
import { randomBytes } from 'node:crypto';
import { startAdminApi, type AdminToken } from '../../../src/admin/server.ts';
import { loadProducerConfig } from '../../../src/config.ts';
import { createMetrics } from '../../../src/observe/metrics.ts';
import { startProducer } from '../../../src/producer.ts';
import { openApiValidator } from './openapi.ts';

type Json = Record<string, unknown>;
export type Line = Json & { event: string };

export const adminToken = randomBytes(24).toString('hex');
export const readOnlyToken = randomBytes(24).toString('hex');
const tokens: AdminToken[] = [
  { name: 'ops-admin', token: adminToken, access: 'admin' },
  { name: 'viewer', token: readOnlyToken, access: 'read-only' },
];

/** A producer (one session after another, as `run` has) with its admin API, its log lines collected. */
export async function startWithApi(env: Record<string, string>) {
  const lines: Line[] = [];
  const config = loadProducerConfig(env);
  const run = startProducer(config, { metrics: createMetrics('producer'), log: (event, fields) => void lines.push({ event, ...(fields ?? {}) }) });
  const api = await startAdminApi({ port: 0, host: '127.0.0.1', tokens, connectors: () => [run.status()], settings: (name) => (name === config.connectorName ? run.settings : undefined), resync: (name) => (name === config.connectorName ? (t) => run.resync(t) : undefined) });
  const check = openApiValidator();
  const call = async (method: string, path: string, body?: unknown, token: string | null = adminToken) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Json;
    check(method, path, res.status, json);
    return { status: res.status, body: json };
  };
  /** Waits for a log line after index `from` (a condition of the running producer, with a deadline). */
  const waitFor = async (pred: (l: Line) => boolean, from = 0, timeoutMs = 60_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = lines.findIndex((l, n) => n >= from && pred(l));
      if (i >= 0) return i;
      if (Date.now() > deadline) throw new Error(`no matching log line in ${timeoutMs} ms; last: ${JSON.stringify(lines.slice(-8))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    await api.close();
    await run.stop();
  };
  return { run, api, lines, call, waitFor, stop, cliEnv: { ADMIN_API_URL: api.url, ADMIN_API_TOKEN: adminToken } };
}

