/**
 * `pipedrive-cdc sim`: run the local Pipedrive until SIGINT/SIGTERM.
 * Bad arguments print a message naming the flag and exit with code 2.
 */
import { startSimulator, type SimulatorOptions } from './server.ts';

export const SIM_USAGE = `Usage: pipedrive-cdc sim [options]

Run a local Pipedrive (v2 API under /api/v2) for tests, demos and sandboxes.

Options:
  --port N     port to listen on (default 8080; 0 = any free port)
  --host H     interface to bind (default 127.0.0.1)
  --seed S     seed for generated data and the API token (integer)
  --token T    API token to accept (default: derived from --seed, else random)
  --deals N    number of generated deals (default 0)
  --help       show this help

Control endpoints (no token): GET/POST /_sim/clock, GET /_sim/requests`;

export class UsageError extends Error {
  override name = 'UsageError';
}

const INT_FLAGS = { '--port': 'port', '--seed': 'seed', '--deals': 'deals' } as const;
const STRING_FLAGS = { '--host': 'host', '--token': 'token' } as const;

/** Parse `sim` arguments; `--flag value` and `--flag=value` both work. Null means --help. */
export function parseSimArgs(argv: readonly string[]): SimulatorOptions | null {
  const opts: SimulatorOptions = { port: 8080 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return null;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const isInt = flag in INT_FLAGS;
    if (!isInt && !(flag in STRING_FLAGS)) throw new UsageError(`unknown option: ${flag}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`option ${flag} needs a value`);
    if (isInt) {
      const key = INT_FLAGS[flag as keyof typeof INT_FLAGS];
      opts[key] = parseIntFlag(flag, value, key === 'port' ? 65535 : Number.MAX_SAFE_INTEGER);
    } else {
      opts[STRING_FLAGS[flag as keyof typeof STRING_FLAGS]] = value;
    }
  }
  return opts;
}

function parseIntFlag(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`option ${flag} must be an integer between 0 and ${max}, got "${value}"`);
  }
  return Number(value);
}

export async function runSim(argv: string[]): Promise<void> {
  let opts: SimulatorOptions | null;
  try {
    opts = parseSimArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`pipedrive-cdc sim: ${e.message}\n\n${SIM_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts === null) {
    process.stdout.write(`${SIM_USAGE}\n`);
    return;
  }

  const sim = await startSimulator(opts);
  // Printing the simulator's own sandbox token is intended: the user needs it to configure a client.
  process.stdout.write(`Pipedrive simulator listening on ${sim.baseUrl} (v2: /api/v2)\n`);
  process.stdout.write(`API token: ${sim.token}\n`);
  if (opts.deals) process.stdout.write(`Seeded ${opts.deals} deals (seed ${opts.seed ?? 1})\n`);

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
}
