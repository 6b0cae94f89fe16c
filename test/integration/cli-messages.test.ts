import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { parseJsonLine, pipelineEnv, runCli, uniqueName, type CliRun } from './support/harness.ts';

/**
 * What an operator sees when something is wrong: every message says what failed, which setting, and what
 * to do, with the exit code the docs give (2 configuration, 1 stopped by an error waiting cannot fix,
 * 0 stopped on request); what waiting can fix is retried with a log line saying so, and the process
 * keeps running.
 */
describe('clear errors', () => {
  let sim: Simulator;
  let closedPort: number;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 3, deals: 5 });
    closedPort = await unusedPort();
  });
  afterAll(async () => {
    await sim?.close();
  });
  const env = (extra: Record<string, string> = {}) => pipelineEnv(sim, uniqueName('msg'), { TABLES: 'deal', METRICS_PORT: '0', ...extra });
  const output = (run: CliRun) => run.lines.join('\n');

  it('a busy metrics port: exit 2 naming the variable and the port', async () => {
    const busy = await listening();
    try {
      const port = String((busy.address() as { port: number }).port);
      const run = runCli(['run', '--once'], env({ METRICS_PORT: port }));
      expect(await run.exit).toBe(2);
      expect(output(run)).toContain(`configuration error: METRICS_PORT: port ${port} on 0.0.0.0 is in use by another process; set METRICS_PORT to a free port (0 picks one)`);
      const sink = runCli(['sink'], { ...env(), SINK_METRICS_PORT: port });
      expect(await sink.exit).toBe(2);
      expect(output(sink)).toContain(`configuration error: SINK_METRICS_PORT: port ${port}`);
    } finally {
      busy.close();
    }
  });

  it.each([
    [{ METRICS_PORT: '70000' }, 'METRICS_PORT: "70000" must be a port number from 0 to 65535'],
    [{ POLL_INTERVAL_MS: '99999999999' }, 'POLL_INTERVAL_MS: "99999999999" must be a number of milliseconds (at most about 24.8 days) from 100 to 2147483647'],
  ])('%o: exit 2 before connecting to anything', async (bad, message) => {
    const run = runCli(['run', '--once'], env(bad));
    expect(await run.exit).toBe(2);
    expect(output(run)).toContain(`configuration error: ${message}`);
  });

  it('sim --port abc: exit 2 with the usage', async () => {
    const run = runCli(['sim', '--port', 'abc'], {});
    expect(await run.exit).toBe(2);
    expect(output(run)).toContain('pipedrive-cdc sim: option --port must be an integer between 0 and 65535, got "abc"');
    expect(output(run)).toContain('Usage: pipedrive-cdc sim');
  });

  it('a registry URL without the Confluent-compatible path: exit 1 saying where the API is', async () => {
    const registry = new URL(env().SCHEMA_REGISTRY_URL!);
    const run = runCli(['run', '--once'], env({ SCHEMA_REGISTRY_URL: registry.origin }));
    expect(await run.exit).toBe(1);
    expect(output(run)).toMatch(
      new RegExp(`schema registry ${registry.origin}: .* failed: HTTP 404: no Confluent-compatible API at this URL\\. For Apicurio Registry the URL ends in /apis/ccompat/v7 \\(e\\.g\\. ${registry.origin}/apis/ccompat/v7\\); check SCHEMA_REGISTRY_URL`),
    );
  });

  it('an unreachable registry: retried with a line naming it, still running; SIGTERM stops it with 0', async () => {
    const run = runCli(['run'], env({ SCHEMA_REGISTRY_URL: `http://127.0.0.1:${closedPort}/apis/ccompat/v7` }));
    const line = await run.waitForLine((l) => l.event === 'retrying' && l.dependency === 'registry' && Number(l.attempt) >= 2, 30_000);
    expect(String(line.what)).toContain(`schema registry http://127.0.0.1:${closedPort}/apis/ccompat/v7`);
    expect(String(line.error)).toMatch(/no answer \(.*ECONNREFUSED.*\); is SCHEMA_REGISTRY_URL right and the registry running\?/);
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('an unreachable Pipedrive: retried with lines naming the URL, still running; SIGTERM stops it with 0', async () => {
    const run = runCli(['run'], env({ PIPEDRIVE_BASE_URL: `http://127.0.0.1:${closedPort}` }));
    const line = await run.waitForLine((l) => l.event === 'retrying' && l.dependency === 'pipedrive' && Number(l.attempt) >= 3, 30_000);
    expect(String(line.what)).toBe(`GET http://127.0.0.1:${closedPort}/api/v2/dealFields`);
    expect(String(line.error)).toMatch(new RegExp(`no answer from Pipedrive \\(.*ECONNREFUSED.*\\)`));
    expect(Number(line.delayMs)).toBeGreaterThan(0);
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.lines.map(parseJsonLine).some((l) => l?.event === 'stopped')).toBe(true);
  });

  it('a wrong API token: exit 1 saying which setting to fix, nothing published', async () => {
    const run = runCli(['run', '--once'], env({ PIPEDRIVE_API_TOKEN: 'not-the-token' }));
    expect(await run.exit).toBe(1);
    expect(output(run)).toContain('401 unauthorized — the API token is wrong or revoked; set PIPEDRIVE_API_TOKEN to a valid token');
    expect(output(run)).not.toContain('not-the-token');
    expect(run.lines.map(parseJsonLine).some((l) => l?.event === 'batch-committed')).toBe(false);
  });
});

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '0.0.0.0', () => resolve(s));
  });
}

/** A port nothing listens on (taken, then released). */
async function unusedPort(): Promise<number> {
  const s = await listening();
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
