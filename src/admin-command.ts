/**
 * `pipedrive-cdc status` and `pipedrive-cdc tables`: the admin API of a running producer, read from the
 * command line — a readable table by default, the API's JSON with --json.
 */
import { parseArgs } from 'node:util';
import { ConfigError, secret } from './config-env.ts';
import { redactUrl } from './redact.ts';

type Json = Record<string, unknown>;

const HELP = `pipedrive-cdc status [--url URL] [--json]
  the connectors of a running producer (pipedrive-cdc run with ADMIN_API_TOKEN) and their tables' sync state
pipedrive-cdc tables CONNECTOR [TABLE] [--url URL] [--json]
  the connector's tables; with TABLE, its columns and what the sync rules make of them
  --url URL  the admin API (default ADMIN_API_URL, else http://127.0.0.1:9470)
  --json     the API's answers as JSON instead of a table
Environment: ADMIN_API_URL; ADMIN_API_READONLY_TOKEN(_FILE) or ADMIN_API_TOKEN(_FILE) (the read-only token is used when both are set)
Exit codes: 0 shown, 1 the API could not answer (not running, no such connector or table), 2 a bad setting or a refused token
Not built yet: block, hash, filter, resync, pause, resume (the admin API is read-only so far).`;

export async function runAdminCommand(command: 'status' | 'tables', args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const base = (values.url ?? env.ADMIN_API_URL ?? 'http://127.0.0.1:9470').replace(/\/+$/, '');
  const token = secret(env, 'ADMIN_API_READONLY_TOKEN') ?? secret(env, 'ADMIN_API_TOKEN');
  if (!token) throw new ConfigError('ADMIN_API_READONLY_TOKEN: required (or ADMIN_API_TOKEN), the token the producer\'s admin API was started with; or its _FILE');
  const get = async (path: string): Promise<Json> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    } catch (err) {
      throw new Error(`no admin API answers at ${redactUrl(base)} (${(err as { cause?: { code?: string } }).cause?.code ?? 'error'}): is \`pipedrive-cdc run\` running with ADMIN_API_TOKEN set, on ADMIN_API_PORT? Set ADMIN_API_URL or --url`);
    }
    const body = (await res.json().catch(() => ({}))) as Json;
    if (res.status === 401) throw new ConfigError('ADMIN_API_READONLY_TOKEN / ADMIN_API_TOKEN: refused by the admin API (401); use a token the producer was started with');
    if (!res.ok) throw new Error(`${String(body.message ?? `the admin API answered ${res.status}`)}`);
    return body;
  };
  if (command === 'status') {
    const { connectors } = (await get('/v1/connectors')) as { connectors: Json[] };
    const details = await Promise.all(connectors.map((c) => get(`/v1/connectors/${encodeURIComponent(String(c.name))}`)));
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ connectors: details }, null, 2)}\n`);
      return 0;
    }
    for (const c of details) {
      const budget = c.budget as Json;
      process.stdout.write(`connector ${String(c.name)} (${String(c.state)}; topics ${String(c.topicPrefix)}.*; schema changes ${String(c.schemaChanges)}; daily tokens left ${show(budget.dailyTokensRemaining)}${budget.low ? ', budget low' : ''})\n`);
      process.stdout.write(`${tablesTable(c.tables as Json[])}\n`);
    }
    return 0;
  }
  const [connector, table] = positionals;
  if (!connector) throw new ConfigError('tables: name the connector (pipedrive-cdc tables CONNECTOR [TABLE]); `pipedrive-cdc status` lists them');
  const path = `/v1/connectors/${encodeURIComponent(connector)}${table ? `/tables/${encodeURIComponent(table)}` : ''}`;
  const body = await get(path);
  if (values.json) process.stdout.write(`${JSON.stringify(table ? body : body.tables, null, 2)}\n`);
  else if (table) process.stdout.write(`table ${String(body.name)}: ${String(body.state)}, cursor ${show(body.cursor)}\n${grid(['column', 'type', 'sync', 'published as'], (body.columns as Json[]).map((c) => [c.name, c.type, c.sync, c.publishedAs]))}\n`);
  else process.stdout.write(`${tablesTable(body.tables as Json[])}\n`);
  return 0;
}

function tablesTable(tables: readonly Json[]): string {
  return grid(['table', 'state', 'cursor', 'snapshot', 'last pass started', 'error'], tables.map((t) => [t.name, t.state, t.cursor, t.snapshotDone ? 'done' : 'running', t.lastPassStartedAt, t.error]));
}

function show(v: unknown): string {
  return v === null || v === undefined ? '—' : String(v);
}

/** Columns padded to their widest cell. */
function grid(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  const cells = [header, ...rows.map((r) => r.map(show))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
