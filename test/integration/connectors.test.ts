import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { parseJsonLine, readTopic, runCli, services, uniqueName, type CliRun } from './support/harness.ts';

type Key = { id: number };

/**
 * Several Pipedrive companies in one deployment: one configuration file, one process, one producer per
 * connector with its own credentials, topics, state and API budget.
 */
describe('connectors from a configuration file', () => {
  const sims: Simulator[] = [];
  const runs: CliRun[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    for (const s of sims.splice(0)) await s.close();
  });

  it('two companies in one process: topics and state apart, one exhausted budget does not stall the other', { timeout: 180_000 }, async () => {
    // Company A's daily budget runs out after a few pages; company B's does not.
    const a = await startSimulator({ seed: 51, deals: 1_500, rateLimit: { dailyBudget: 25, burst: 5_000 } });
    const b = await startSimulator({ seed: 52, deals: 1_500, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    sims.push(a, b);
    const [pa, pb] = [uniqueName('compa'), uniqueName('compb')];
    const file = join(mkdtempSync(join(tmpdir(), 'pcdc-conn-')), 'pipedrive-cdc.yaml');
    writeFileSync(
      file,
      `# two companies, one process
kafka:
  brokers: [${services().brokers.join(', ')}]
schemaRegistry:
  url: ${services().registryUrl}
metricsPort: 0
connectors:
  - name: ${pa}
    pipedrive: { baseUrl: "${a.baseUrl}", apiToken: "${a.token}" }
    tables: [deal]
    historyRebuild: "off"
    pollIntervalMs: 200
    dailyBudgetProbeMs: 500
  - name: ${pb}
    pipedrive: { baseUrl: "${b.baseUrl}", apiToken: "${b.token}" }
    tables: [deal]
    historyRebuild: "off"
    pollIntervalMs: 200
`,
    );
    const check = runCli(['config', 'check', '--config', file], {});
    expect(await check.exit, check.lines.join('\n')).toBe(0);
    expect(check.lines.join('\n')).toMatch(new RegExp(`producer ${pa}: .*producer ${pb}: .*configuration OK \\(2 connectors\\)`, 's'));
    for (const token of [a.token, b.token]) expect(check.lines.join('\n')).not.toContain(token);

    const run = runCli(['run', '--config', file], {});
    runs.push(run);
    const exhausted = await run.waitForLine((l) => l.event === 'daily-budget-exhausted', 60_000);
    expect(exhausted.connector).toBe(pa);
    // B syncs every deal while A waits for its budget.
    const deadline = Date.now() + 90_000;
    let bDeals = 0;
    while (bDeals < 1_500 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      bDeals = new Set((await readTopic(`${pb}.deal`)).map((r) => (r.key as Key).id)).size;
    }
    expect(bDeals).toBe(1_500);
    const aDeals = new Set((await readTopic(`${pa}.deal`)).map((r) => (r.key as Key).id)).size;
    expect(aDeals, 'company A stalled on its budget').toBeLessThan(1_500);
    expect(run.child.exitCode, 'the process keeps running').toBeNull();

    // Each company's offsets are in its own state topic, under its own connector name.
    for (const [prefix, other] of [[pa, pb], [pb, pa]] as const) {
      const keys = (await readTopic(`${prefix}._state`, { decode: false })).map((r) => JSON.parse(String(r.key)) as [string, { table: string }]);
      expect(new Set(keys.map((k) => k[0]))).toEqual(new Set([prefix]));
      expect(keys.some((k) => k[0] === other)).toBe(false);
    }
    const lines = run.lines.map(parseJsonLine).filter((l) => l !== null);
    expect(new Set(lines.filter((l) => l.event === 'batch-committed').map((l) => l.connector))).toEqual(new Set([pa, pb]));
    for (const token of [a.token, b.token]) expect(run.lines.join('\n')).not.toContain(token);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });

  it('a bad file: exit 2 naming the key path and what is allowed, before connecting', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pcdc-conn-')), 'bad.yaml');
    writeFileSync(file, `kafka: { brokers: [k:9092] }\nschemaRegistry: { url: "http://r:8081" }\nconnectors:\n  - name: one\n    pipedrive: { apiToken: t }\n  - name: two\n    pipedrive: { apiToken: u }\n    tables: [deal, unicorn]\n`);
    for (const args of [['config', 'check', '--config', file], ['run', '--once', '--config', file]]) {
      const run = runCli(args, {});
      expect(await run.exit).toBe(2);
      expect(run.lines.join('\n')).toContain(`configuration error: ${file}: connectors[1].tables: unknown table "unicorn"; known: `);
    }
  });
});
