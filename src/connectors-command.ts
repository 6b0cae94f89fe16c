/**
 * `pipedrive-cdc connectors create|authorize|delete`: connectors created through the admin API of a
 * running producer (docs/ADMIN-API.md), from the command line. Secrets are read from files or the
 * environment, never from arguments (other users see a process's arguments); nothing printed holds one.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, readSettingFile, secret } from './config-env.ts';
import { redactUrl } from './redact.ts';

type Json = Record<string, unknown>;

export const CONNECTORS_HELP = `pipedrive-cdc connectors create NAME [options]   create a connector in a running producer (started at once, or OAuth)
pipedrive-cdc connectors authorize NAME         a new authorize URL for an OAuth connector created this way
pipedrive-cdc connectors delete NAME            stop and remove a connector created this way (its topics stay)
Credentials of create (one of):
  --api-token-file F      a file holding the company's API token (else PIPEDRIVE_API_TOKEN or PIPEDRIVE_API_TOKEN_FILE)
  --oauth-client-id ID    OAuth: the app's client id, with --oauth-client-secret-file F (else PIPEDRIVE_OAUTH_CLIENT_SECRET(_FILE));
                          prints the URL to open; the browser's return to the producer starts the connector
Options of create:
  --base-url URL          the company's API (API token; default https://api.pipedrive.com)
  --redirect-uri URL      OAuth: the app's callback URL (default the admin API's /v1/oauth/callback)
  --oauth-url URL         OAuth: the authorization server (default https://oauth.pipedrive.com)
  --topic-prefix P        topics P.<table> (default NAME)
  --tables a,b            the tables to sync (default all)
  --rules-file F          sync rules as JSON (the configuration file's "rules" section, docs/SYNC-RULES.md)
Common:
  --url URL  the admin API (default ADMIN_API_URL, else http://127.0.0.1:9470)
  --json     the API's answer as JSON
Environment: ADMIN_API_URL, ADMIN_API_TOKEN(_FILE) (the admin token: the read-only one cannot change anything)
Exit codes: 0 done, 1 refused by the producer or not reachable, 2 bad arguments or a refused token`;

export async function runConnectorsCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'api-token-file': { type: 'string' },
      'oauth-client-id': { type: 'string' },
      'oauth-client-secret-file': { type: 'string' },
      'base-url': { type: 'string' },
      'redirect-uri': { type: 'string' },
      'oauth-url': { type: 'string' },
      'topic-prefix': { type: 'string' },
      tables: { type: 'string' },
      'rules-file': { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${CONNECTORS_HELP}\n`);
    return values.help ? 0 : 2;
  }
  const [action, name, ...extra] = positionals;
  if (!['create', 'authorize', 'delete'].includes(action!)) throw new ConfigError(`connectors: unknown action "${action}"; use create, authorize or delete (--help)`);
  if (!name || extra.length > 0) throw new ConfigError(`connectors ${action}: name one connector (pipedrive-cdc connectors ${action} NAME)`);
  const base = (values.url ?? env.ADMIN_API_URL ?? 'http://127.0.0.1:9470').replace(/\/+$/, '');
  const token = secret(env, 'ADMIN_API_TOKEN');
  if (!token) throw new ConfigError('ADMIN_API_TOKEN: required (or ADMIN_API_TOKEN_FILE), the admin token the producer\'s admin API was started with');
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(`no admin API answers at ${redactUrl(base)} (${(err as { cause?: { code?: string } }).cause?.code ?? 'error'}): is \`pipedrive-cdc run\` running with ADMIN_API_TOKEN set, on ADMIN_API_PORT? Set ADMIN_API_URL or --url`);
    }
    const answer = (await res.json().catch(() => ({}))) as Json;
    if (res.status === 401) throw new ConfigError('ADMIN_API_TOKEN: refused by the admin API (401); use the token the producer was started with');
    if (res.status === 403) throw new ConfigError('ADMIN_API_TOKEN: the admin API answered 403 (a read-only token); creating and deleting need the admin token');
    if (!res.ok) throw new Error(String(answer.message ?? `the admin API answered ${res.status}`));
    return { status: res.status, body: answer };
  };
  const path = `/v1/connectors/${encodeURIComponent(name)}`;
  const show = (body: Json, text: string) => process.stdout.write(values.json ? `${JSON.stringify(body, null, 2)}\n` : text);
  const authorizeText = (b: Json) =>
    `Open this URL in a browser, signed in to Pipedrive as the user whose data connector ${String(b.connector)} reads, and allow access:\n\n  ${String(b.authorizeUrl)}\n\n` +
    `It works once, until ${String(b.expiresAt)}. The connector shows awaiting-authorization until then (pipedrive-cdc status).\n`;
  if (action === 'delete') {
    const { body } = await call('DELETE', path);
    show(body, `Deleted connector ${name}: stopped and removed; its topics and their data are kept.\n`);
    return 0;
  }
  if (action === 'authorize') {
    const { body } = await call('POST', `${path}/authorize`);
    show(body, authorizeText(body));
    return 0;
  }
  const { status, body } = await call('POST', '/v1/connectors', createBody(name, values, env));
  show(body, status === 202 ? authorizeText(body) : `Created connector ${name} (${String(body.state)}; topics ${String(body.topicPrefix)}.*); its secrets are stored encrypted in the producer's connectors topic.\n`);
  return 0;
}

function createBody(name: string, v: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Json {
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const fromFile = (flag: string) => {
    const file = str(flag);
    if (file === undefined) return undefined;
    const text = readSettingFile(`--${flag}`, file).replace(/\r?\n$/, '');
    if (!text) throw new ConfigError(`--${flag}: ${file} is empty`);
    return text;
  };
  const clientId = str('oauth-client-id');
  let pipedrive: Json;
  if (clientId !== undefined) {
    const clientSecret = fromFile('oauth-client-secret-file') ?? secret(env, 'PIPEDRIVE_OAUTH_CLIENT_SECRET');
    if (!clientSecret) throw new ConfigError('--oauth-client-secret-file: required with --oauth-client-id (or PIPEDRIVE_OAUTH_CLIENT_SECRET / _FILE)');
    if (str('base-url') !== undefined) throw new ConfigError('--base-url: not used with OAuth (the company URL comes with the tokens)');
    pipedrive = { oauth: { clientId, clientSecret, ...(str('redirect-uri') ? { redirectUri: str('redirect-uri') } : {}), ...(str('oauth-url') ? { oauthUrl: str('oauth-url') } : {}) } };
  } else {
    const apiToken = fromFile('api-token-file') ?? secret(env, 'PIPEDRIVE_API_TOKEN');
    if (!apiToken) throw new ConfigError('--api-token-file: required (or PIPEDRIVE_API_TOKEN / PIPEDRIVE_API_TOKEN_FILE), or --oauth-client-id for OAuth');
    pipedrive = { apiToken, ...(str('base-url') ? { baseUrl: str('base-url') } : {}) };
  }
  let rules: unknown;
  const rulesFile = str('rules-file');
  if (rulesFile !== undefined) {
    try {
      rules = JSON.parse(readFileSync(rulesFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(`--rules-file: ${rulesFile}: ${(err as NodeJS.ErrnoException).code ? `cannot read it (${(err as NodeJS.ErrnoException).code})` : 'not valid JSON'}`);
    }
  }
  const tables = str('tables')?.split(',').map((t) => t.trim()).filter(Boolean);
  return { name, pipedrive, ...(str('topic-prefix') ? { topicPrefix: str('topic-prefix') } : {}), ...(tables ? { tables } : {}), ...(rules !== undefined ? { rules } : {}) };
}
