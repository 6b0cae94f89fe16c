import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSimArgs, runSim, UsageError } from '../../src/simulator/cli.ts';

describe('parseSimArgs', () => {
  it('parses every flag, in both --flag value and --flag=value forms', () => {
    expect(parseSimArgs(['--port', '0', '--seed=12', '--token', 'abc', '--deals', '50', '--host=0.0.0.0'])).toEqual({
      port: 0, seed: 12, token: 'abc', deals: 50, host: '0.0.0.0',
    });
    expect(parseSimArgs([])).toEqual({ port: 8080 });
    expect(parseSimArgs(['--deals', '5', '--help'])).toBeNull();
  });

  it('names the offending flag for unknown flags, missing values and bad numbers', () => {
    const cases: [string[], RegExp][] = [
      [['--prot', '1'], /unknown option: --prot/],
      [['--port'], /--port needs a value/],
      [['--port', 'http'], /--port must be an integer/],
      [['--port', '70000'], /--port must be an integer between 0 and 65535/],
      [['--deals=-3'], /--deals must be an integer/],
      [['--seed', '1.5'], /--seed must be an integer/],
      [['extra'], /unknown option: extra/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseSimArgs(argv), argv.join(' ')).toThrow(UsageError);
      expect(() => parseSimArgs(argv), argv.join(' ')).toThrow(message);
    }
  });
});

describe('runSim', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('prints usage on --help and a clear error with exit code 2 on bad arguments', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await runSim(['--help'])).toBe(0);
    expect(String(out.mock.calls[0]?.[0])).toMatch(/Usage: pipedrive-cdc sim/);

    expect(await runSim(['--port', 'eighty'])).toBe(2);
    expect(String(err.mock.calls[0]?.[0])).toMatch(/--port must be an integer/);
  });

  it('serves until SIGTERM, printing the base URL and its token', async () => {
    const child = spawn('node_modules/.bin/tsx', ['test/simulator/fixtures/run-sim.ts', '--port', '0', '--seed', '9', '--deals', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await vi.waitFor(() => expect(stdout).toMatch(/API token: [0-9a-f]{40}\n/), { timeout: 20_000, interval: 50 });
      const baseUrl = /listening on (http:\/\/\S+) /.exec(stdout)?.[1];
      const token = /API token: (\S+)/.exec(stdout)?.[1];
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${baseUrl}/api/v2/deals`, { headers: { 'x-api-token': token! } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(3);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/stopped/);
  }, 30_000);
});
