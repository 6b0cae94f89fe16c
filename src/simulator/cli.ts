/**
 * `pipedrive-cdc sim`: run the local Pipedrive until SIGINT/SIGTERM.
 * Bad arguments print a message naming the flag and exit with code 2.
 */
import { startSimulator, type SimulatorOptions } from './server.ts';
import { parseFaultRuleList } from './http/faults-rules.ts';
import { DeliveryFaults, type DeliveryFaultInput } from './webhooks/faults.ts';
import { PLANS, type Plan } from './http/rate-limit.ts';
import { sandboxClient } from './oauth/state.ts';

export const SIM_USAGE = `Usage: pipedrive-cdc sim [options]

Run a local Pipedrive (v2 API under /api/v2) for tests, demos and sandboxes.

Options:
  --port N     port to listen on (default 8080; 0 = any free port)
  --host H     interface to bind (default 127.0.0.1)
  --seed S     seed for generated data and the API token (integer)
  --token T    API token to accept (default: derived from --seed, else random)
  --deals N    number of generated deals (default 0)
  --daily-budget N   enforce rate limits with this daily token budget (default 30,000 × plan × seats)
  --burst N          enforce rate limits with N requests per 2-second window per token
  --plan P           enforce rate limits of plan lite|growth|premium|ultimate (default lite)
  --faults JSON      inject faults: a rule or a list, e.g. '{"kind":"status","status":503,"every":10}'
  --webhook-faults JSON   break webhook deliveries: drop, delay, duplicate, reorder, e.g. '{"kind":"drop","probability":0.2}'
  --oauth-client-id ID        the OAuth app's client id (default: derived from --seed, else random)
  --oauth-client-secret S     its client secret (default: derived from --seed, else random)
  --oauth-expires-in N        access-token lifetime in seconds (default 3600)
  --oauth-auto-approve        /oauth/authorize redirects with a code at once (no consent page)
  --api-domain URL            the api_domain of token answers (default: this server's URL)
  --help       show this help

Without any of --daily-budget, --burst, --plan the x-ratelimit headers are sent but nothing is refused.

OAuth (standing in for https://oauth.pipedrive.com): GET /oauth/authorize, POST /oauth/token, POST /oauth/revoke.

Control endpoints (no token): GET/POST /_sim/clock, GET /_sim/requests, GET/POST /_sim/rate-limit,
GET/POST/DELETE /_sim/faults, GET/POST /_sim/oauth, GET /_sim/webhooks, POST/DELETE /_sim/webhooks/faults`;

export class UsageError extends Error {
  override name = 'UsageError';
}

const INT_FLAGS = { '--port': 'port', '--seed': 'seed', '--deals': 'deals' } as const;
const STRING_FLAGS = { '--host': 'host', '--token': 'token' } as const;
/** Flags that go into `rateLimit` (giving any of them turns enforcement on) or `faults`. */
const LIMIT_FLAGS = { '--daily-budget': 'dailyBudget', '--burst': 'burst' } as const;
const OAUTH_FLAGS: ReadonlySet<string> = new Set(['--oauth-client-id', '--oauth-client-secret', '--oauth-expires-in', '--api-domain']);
const NESTED_FLAGS: ReadonlySet<string> = new Set([...Object.keys(LIMIT_FLAGS), '--plan', '--faults', '--webhook-faults', ...OAUTH_FLAGS]);

/** Parse `sim` arguments; `--flag value` and `--flag=value` both work. Null means --help. */
export function parseSimArgs(argv: readonly string[]): SimulatorOptions | null {
  const opts: SimulatorOptions = { port: 8080 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return null;
    if (arg === '--oauth-auto-approve') {
      opts.oauth = { ...opts.oauth, autoApprove: true };
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const isInt = flag in INT_FLAGS;
    if (!isInt && !(flag in STRING_FLAGS) && !NESTED_FLAGS.has(flag)) throw new UsageError(`unknown option: ${flag}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`option ${flag} needs a value`);
    if (NESTED_FLAGS.has(flag)) {
      parseNestedFlag(opts, flag, value);
    } else if (isInt) {
      const key = INT_FLAGS[flag as keyof typeof INT_FLAGS];
      opts[key] = parseIntFlag(flag, value, key === 'port' ? 65535 : Number.MAX_SAFE_INTEGER);
    } else {
      opts[STRING_FLAGS[flag as keyof typeof STRING_FLAGS]] = value;
    }
  }
  return opts;
}

function parseNestedFlag(opts: SimulatorOptions, flag: string, value: string): void {
  if (OAUTH_FLAGS.has(flag)) {
    parseOAuthFlag(opts, flag, value);
  } else if (flag === '--faults') {
    let rules: unknown;
    try {
      rules = JSON.parse(value);
      parseFaultRuleList(rules, () => 'cli'); // validate now, so a typo is a usage error
    } catch (e) {
      throw new UsageError(`option --faults: ${e instanceof Error ? e.message : String(e)}`);
    }
    opts.faults = [...(opts.faults ?? []), ...(Array.isArray(rules) ? rules : [rules])];
  } else if (flag === '--webhook-faults') {
    let rules: unknown;
    try {
      rules = JSON.parse(value);
      new DeliveryFaults().add(rules); // validate now, so a typo is a usage error
    } catch (e) {
      throw new UsageError(`option --webhook-faults: ${e instanceof Error ? e.message : String(e)}`);
    }
    const list = (Array.isArray(rules) ? rules : [rules]) as DeliveryFaultInput[];
    opts.webhooks = { ...opts.webhooks, faults: [...(opts.webhooks?.faults ?? []), ...list] };
  } else if (flag === '--plan') {
    if (!(value in PLANS)) throw new UsageError(`option --plan must be one of ${Object.keys(PLANS).join(', ')}, got "${value}"`);
    opts.rateLimit = { ...opts.rateLimit, plan: value as Plan };
  } else {
    const key = LIMIT_FLAGS[flag as keyof typeof LIMIT_FLAGS];
    opts.rateLimit = { ...opts.rateLimit, [key]: parseIntFlag(flag, value, Number.MAX_SAFE_INTEGER) };
  }
}

function parseOAuthFlag(opts: SimulatorOptions, flag: string, value: string): void {
  const oauth = { ...opts.oauth };
  if (flag === '--oauth-expires-in') {
    oauth.accessTokenTtlS = parseIntFlag(flag, value, 10 * 365 * 24 * 3600);
    if (oauth.accessTokenTtlS === 0) throw new UsageError('option --oauth-expires-in must be at least 1');
  } else if (flag === '--api-domain') {
    if (!/^https?:\/\/[^/]/.test(value) || !URL.canParse(value)) throw new UsageError(`option --api-domain must be an http(s) URL, got "${value}"`);
    oauth.apiDomain = value.replace(/\/+$/, '');
  } else {
    const [client] = oauth.clients ?? [{ clientId: '', clientSecret: '' }];
    const next = { ...client!, [flag === '--oauth-client-id' ? 'clientId' : 'clientSecret']: value };
    oauth.clients = [next];
  }
  opts.oauth = oauth;
}

function parseIntFlag(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`option ${flag} must be an integer between 0 and ${max}, got "${value}"`);
  }
  return Number(value);
}

/** Runs the simulator until SIGINT/SIGTERM; resolves with the process exit code (2 for bad arguments). */
export async function runSim(argv: string[]): Promise<number> {
  let opts: SimulatorOptions | null;
  try {
    opts = parseSimArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`pipedrive-cdc sim: ${e.message}\n\n${SIM_USAGE}\n`);
    return 2;
  }
  if (opts === null) {
    process.stdout.write(`${SIM_USAGE}\n`);
    return 0;
  }

  // One of id/secret given: the other comes from the seed, as it would without either.
  const given = opts.oauth?.clients?.[0];
  if (given && (!given.clientId || !given.clientSecret)) {
    const sandbox = sandboxClient(opts.seed);
    opts.oauth = { ...opts.oauth, clients: [{ clientId: given.clientId || sandbox.clientId, clientSecret: given.clientSecret || sandbox.clientSecret }] };
  }
  const sim = await startSimulator(opts);
  // Printing the simulator's own sandbox token and OAuth app secret is intended: the user needs them to configure a client.
  process.stdout.write(`Pipedrive simulator listening on ${sim.baseUrl} (v2: /api/v2)\n`);
  process.stdout.write(`API token: ${sim.token}\n`);
  const app = sim.oauth.registered[0]!;
  process.stdout.write(`OAuth app: client id ${app.clientId}, client secret ${app.clientSecret} (PIPEDRIVE_OAUTH_URL=${sim.baseUrl})\n`);
  if (opts.deals) process.stdout.write(`Seeded ${opts.deals} deals (seed ${opts.seed ?? 1})\n`);
  if (opts.rateLimit) {
    const { dailyBudget, burst, burstWindowMs } = sim.rateLimit.config;
    process.stdout.write(`Rate limits enforced: ${dailyBudget} tokens/day, ${burst} requests per ${burstWindowMs / 1000} s\n`);
  }
  if (opts.faults?.length) process.stdout.write(`Fault rules: ${sim.faults.list().map((f) => f.rule.id).join(', ')}\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  process.stdout.write('Pipedrive simulator stopped\n');
  return 0;
}
