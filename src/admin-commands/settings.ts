/**
 * `pipedrive-cdc block | hash | filter | pause | resume | resync | audit`: a running producer's settings changed
 * and audited through its admin API (docs/ADMIN-API.md) — what changed and any warning by default, the
 * API's JSON with --json.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config-env.ts';
import { adminClient, grid, show, type Json } from './client.ts';

export const SETTINGS_COMMANDS = ['block', 'hash', 'filter', 'pause', 'resume', 'resync', 'audit'] as const;
export type SettingsCommand = (typeof SETTINGS_COMMANDS)[number];

const COMMON = `  --url URL  the admin API (default ADMIN_API_URL, else http://127.0.0.1:9470)
  --json     the API's answer as JSON
Environment: ADMIN_API_URL; ADMIN_API_TOKEN(_FILE) to change settings (audit also takes ADMIN_API_READONLY_TOKEN(_FILE))
Changed rules are adopted by the producer at its next batch boundary; a pause shows in \`status\` at once.
Exit codes: 0 done, 1 the API could not do it (not running, no such connector, table or column, invalid), 2 a bad setting or a refused token`;

const HELP: Record<SettingsCommand, string> = {
  block: `pipedrive-cdc block CONNECTOR TABLE[.COLUMN] [--undo]
  block a table (not synced; its topic keeps what it has) or a column (left out of the schema and every new record)
  --undo     unblock it (a column is published again from each row's next change)`,
  hash: `pipedrive-cdc hash CONNECTOR TABLE.COLUMN [--undo]
  publish the column as COLUMN_sha256 (HMAC-SHA-256 under HASH_SALT); refused for a column of a record key
  --undo     publish it in clear again
  Rows published before keep their old form until they change: re-sync the table to rewrite them (docs/SYNC-RULES.md).`,
  filter: `pipedrive-cdc filter CONNECTOR TABLE FILTER_JSON | --clear
  the table's row filter, e.g. '{"column":"status","eq":"open"}' (docs/SYNC-RULES.md, "Row filters")
  --clear    remove the filter`,
  pause: `pipedrive-cdc pause CONNECTOR [TABLE]
  stop polling the connector (or one table) at the next batch boundary; nothing is lost: resume continues from the offsets`,
  resume: `pipedrive-cdc resume CONNECTOR [TABLE]
  poll the connector (or the table) again, from its committed offsets`,
  resync: `pipedrive-cdc resync CONNECTOR TABLE[,TABLE…] | all
  re-sync tables (every row published again; rows deleted in Pipedrive meanwhile end deleted in the sink):
  each starts over at its next batch boundary (docs/OPERATIONS.md, "Re-sync")`,
  audit: `pipedrive-cdc audit CONNECTOR [--limit N]
  the connector's settings changes, newest first: when, which token (its name), what
  --limit N  at most N changes (default 20)`,
};

export async function runSettingsCommand(command: SettingsCommand, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { url: { type: 'string' }, json: { type: 'boolean' }, undo: { type: 'boolean' }, clear: { type: 'boolean' }, limit: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${HELP[command]}\n${COMMON}\n`);
    return 0;
  }
  const [connector, what, extra] = positionals;
  const usage = (why: string) => new ConfigError(`${command}: ${why}; usage: ${HELP[command].split('\n')[0]!}`);
  if (!connector) throw usage('name the connector (`pipedrive-cdc status` lists them)');
  const c = `/v1/connectors/${encodeURIComponent(connector)}`;
  const client = adminClient({ url: values.url, env, changes: command !== 'audit' });

  if (command === 'audit') {
    const limit = values.limit ?? '20';
    if (!/^[1-9]\d*$/.test(limit)) throw usage(`--limit "${limit}" is not a positive whole number`);
    const answer = await client.request('GET', `${c}/audit?limit=${limit}`);
    if (values.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    else process.stdout.write(`${grid(['at', 'by', 'action', 'target', 'change'], (answer.entries as Json[]).map((e) => [e.at, e.by, e.action, e.target, difference(e.before as Json, e.after as Json)]))}\n`);
    return 0;
  }

  if (command === 'resync') {
    if (!what) throw usage('name the tables (TABLE[,TABLE…]) or all');
    const tables = what === 'all' ? 'all' : what.split(',').map((x) => x.trim()).filter(Boolean);
    const answer = await client.request('POST', `${c}/resync`, { tables });
    if (values.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    else if (answer.state === 'started') process.stdout.write(`re-sync of ${(answer.tables as string[]).join(', ')} started (generation ${String(answer.generation)}); \`pipedrive-cdc status\` shows its progress\n`);
    else process.stdout.write(`re-sync of ${JSON.stringify(answer.requested)} asked for; it starts at each table's next batch boundary\n`);
    return 0;
  }

  let method: 'POST' | 'PUT' | 'DELETE' = 'POST';
  let path: string;
  let body: unknown;
  const [table, column] = (what ?? '').split('.') as [string, string | undefined];
  const t = `${c}/tables/${encodeURIComponent(table)}`;
  switch (command) {
    case 'block':
      if (!what) throw usage('name the table or TABLE.COLUMN');
      path = column ? `${t}/columns/${encodeURIComponent(column)}/${values.undo ? 'unblock' : 'block'}` : `${t}/${values.undo ? 'unblock' : 'block'}`;
      break;
    case 'hash':
      if (!what || !column) throw usage('name the column as TABLE.COLUMN');
      path = `${t}/columns/${encodeURIComponent(column)}/${values.undo ? 'unhash' : 'hash'}`;
      break;
    case 'filter':
      if (!what) throw usage('name the table');
      path = `${t}/filter`;
      if (values.clear) method = 'DELETE';
      else {
        if (!extra) throw usage('give the filter as JSON, or --clear');
        method = 'PUT';
        try {
          body = { filter: JSON.parse(extra) as unknown };
        } catch {
          throw usage(`the filter is not valid JSON: ${extra.slice(0, 80)}`);
        }
      }
      break;
    case 'pause':
    case 'resume':
      path = what ? `${t}/${command}` : `${c}/${command}`;
      break;
  }
  const answer = await client.request(method, path, body);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  const change = answer.change as Json;
  const settings = answer.settings as Json;
  process.stdout.write(`${String(change.action)} ${String(change.target)}: done (by ${String(change.by)} at ${String(change.at)})\n`);
  process.stdout.write(`${grid(['connector', 'rules from', 'paused', 'paused tables'], [[connector, settings.rulesFrom, settings.paused ? 'yes' : 'no', (settings.pausedTables as string[]).join(', ') || null]])}\n`);
  for (const w of answer.warnings as string[]) process.stdout.write(`note: ${w}\n`);
  return 0;
}

/** What a change changed, in a few words: the top-level settings and table rules that differ. */
function difference(before: Json, after: Json): string {
  const parts: string[] = [];
  if (before.paused !== after.paused) parts.push(`paused ${show(before.paused)} → ${show(after.paused)}`);
  const bt = JSON.stringify(before.pausedTables);
  const at = JSON.stringify(after.pausedTables);
  if (bt !== at) parts.push(`paused tables ${bt} → ${at}`);
  if (before.rulesFrom !== after.rulesFrom) parts.push(`rules from ${show(before.rulesFrom)} → ${show(after.rulesFrom)}`);
  const br = (before.rules ?? {}) as Json;
  const ar = (after.rules ?? {}) as Json;
  for (const key of new Set([...Object.keys(br), ...Object.keys(ar)])) {
    if (key === 'tables') {
      const bts = (br.tables ?? {}) as Json;
      const ats = (ar.tables ?? {}) as Json;
      for (const name of new Set([...Object.keys(bts), ...Object.keys(ats)])) {
        if (JSON.stringify(bts[name]) !== JSON.stringify(ats[name])) parts.push(`${name} ${JSON.stringify(bts[name] ?? {})} → ${JSON.stringify(ats[name] ?? {})}`);
      }
    } else if (JSON.stringify(br[key]) !== JSON.stringify(ar[key])) parts.push(`${key} ${JSON.stringify(br[key] ?? null)} → ${JSON.stringify(ar[key] ?? null)}`);
  }
  return parts.join('; ') || 'no difference';
}
