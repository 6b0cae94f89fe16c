/**
 * `pipedrive-cdc status` and `pipedrive-cdc tables`: the admin API of a running producer, read from the
 * command line — a readable table by default, the API's JSON with --json.
 */
import { parseArgs } from 'node:util';
import { adminClient, grid, show, type Json } from './admin-commands/client.ts';
import { ConfigError } from './config-env.ts';

const HELP = `pipedrive-cdc status [--url URL] [--json]
  the connectors of a running producer (pipedrive-cdc run with ADMIN_API_TOKEN) and their tables' sync state
pipedrive-cdc tables CONNECTOR [TABLE] [--url URL] [--json]
  the connector's tables; with TABLE, its columns and what the sync rules make of them
  --url URL  the admin API (default ADMIN_API_URL, else http://127.0.0.1:9470)
  --json     the API's answers as JSON instead of a table
Environment: ADMIN_API_URL; ADMIN_API_READONLY_TOKEN(_FILE) or ADMIN_API_TOKEN(_FILE) (the read-only token is used when both are set)
Exit codes: 0 shown, 1 the API could not answer (not running, no such connector or table), 2 a bad setting or a refused token
Changing settings: block, hash, filter, pause, resume, resync, audit (each with --help; docs/ADMIN-API.md).`;

export async function runAdminCommand(command: 'status' | 'tables', args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const client = adminClient({ url: values.url, env, changes: false });
  const get = (path: string) => client.request('GET', path);
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
