import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { parseJsonLine, pipelineEnv, readTopic, runCli, services, uniqueName, type ConsumedRecord } from './support/harness.ts';

/**
 * Imports past Kafka's limits on a broker with the default max.message.bytes (1 MB): a first sync of
 * 30,000 leads and 3,000 notes of 20 KB HTML (Recents' full import) go out in bounded transactions, each
 * version once; a producer killed in the middle of the leads' first sync resumes it where it stopped.
 */
describe('imports at scale', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  /**
   * Leads created one a second (the clock stands otherwise), as an account's leads come in. (The offset
   * remembers the versions of the cursor second and of the lateness window below it: tens of thousands
   * created within a minute would make its state record large — a limit of every updated-since table.)
   */
  async function bigAccount(leads: number, notes: number): Promise<Simulator> {
    const s = await startSimulator({ seed: 31, clock: new SimClock({ start: new Date('2026-04-01T08:00:00Z'), frozen: true }), rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    for (let i = 0; i < leads; i++) {
      s.clock.advance(1000);
      s.store.v1.leads.create(1, { title: `lead ${i}` });
    }
    s.clock.advance(1000);
    const body = `<p>${'Quarterly review with the whole buying committee. '.repeat(400)}</p>`.slice(0, 20_000);
    for (let i = 0; i < notes; i++) s.store.v1.notes.create(1, { content: `<h1>note ${i}</h1>${body}` });
    return s;
  }

  it('30,000 leads and 3,000 notes of 20 KB: bounded transactions, every row once, small state records', { timeout: 300_000 }, async () => {
    sim = await bigAccount(30_000, 3_000);
    const prefix = uniqueName('scale');
    const run = runCli(['run', '--once'], pipelineEnv(sim, prefix, { TABLES: 'lead,note', METRICS_PORT: '0' }));
    expect(await run.exit, run.lines.slice(-15).join('\n')).toBe(0);

    const batches = run.lines.map(parseJsonLine).filter((l) => l?.event === 'batch-committed');
    expect(batches.filter((l) => l!.table === 'lead').length).toBeGreaterThanOrEqual(15); // a page of 500 each
    expect(batches.filter((l) => l!.table === 'note').length).toBeGreaterThanOrEqual(3); // at most 4 MB each
    for (const b of batches) expect(Number(b!.records)).toBeLessThanOrEqual(2 * 2_000 + 10); // a lead's history copy doubles it
    expectEachKeyOnce(await readTopic(`${prefix}.lead`, { decode: false }), 30_000);
    expectEachKeyOnce(await readTopic(`${prefix}.note`, { decode: false }), 3_000);

    // The offsets stay small: no key → hash map of the whole table in the state records.
    const state = await readTopic(`${prefix}._state`, { decode: false });
    for (const r of state) expect((r.value as Buffer).length, 'state record bytes').toBeLessThan(16 * 1024);
    // And the data topics kept the broker's default record size limit.
    expect(await topicConfig(`${prefix}.note`, 'max.message.bytes')).toBe('1048588');

    // Nothing changed: the next pass reads from the leads' cursor and publishes nothing.
    const again = runCli(['run', '--once'], pipelineEnv(sim, prefix, { TABLES: 'lead', METRICS_PORT: '0' }));
    expect(await again.exit).toBe(0);
    expect(again.lines.map(parseJsonLine).filter((l) => l?.event === 'batch-committed')).toEqual([]);
  });

  it('killed in the middle of a 30,000-lead first sync: the restart resumes it, each lead once', { timeout: 300_000 }, async () => {
    sim = await bigAccount(30_000, 0);
    const prefix = uniqueName('resume');
    const env = (failpoint: string) => pipelineEnv(sim!, prefix, { TABLES: 'lead', METRICS_PORT: '0', PIPEDRIVE_CDC_FAILPOINT: failpoint });
    const killed = runCli(['run', '--once'], env('publish.after-commit:20'));
    expect(await killed.exit).toBe('SIGKILL');
    const committedBefore = (await readTopic(`${prefix}.lead`, { decode: false })).length;
    expect(committedBefore).toBeGreaterThanOrEqual(5_000);
    expect(committedBefore).toBeLessThan(30_000);

    sim.requestCount.reset();
    const resumed = runCli(['run', '--once'], env(''));
    expect(await resumed.exit, resumed.lines.slice(-15).join('\n')).toBe(0);
    // The resumed sync read only what was left from its cursor (starting over would read all 60 pages of
    // 500), plus the quiet pass that ends `--once` (one page from the cursor second).
    const left = Math.ceil((30_000 - committedBefore) / 500);
    expect(sim.requestCount.count('getLeads')).toBeGreaterThanOrEqual(left);
    expect(sim.requestCount.count('getLeads')).toBeLessThanOrEqual(left + 3);
    expectEachKeyOnce(await readTopic(`${prefix}.lead`, { decode: false }), 30_000);
    expectEachKeyOnce(await readTopic(`${prefix}.lead_history`, { decode: false }), 30_000);
  });
});

/** `count` distinct keys, none written twice. */
function expectEachKeyOnce(records: readonly ConsumedRecord[], count: number): void {
  const keys = records.map((r) => (r.key as Buffer).toString('base64'));
  expect(new Set(keys).size).toBe(count);
  expect(keys.length, 'records (a key written twice would add one)').toBe(count);
}

async function topicConfig(topic: string, name: string): Promise<string | undefined> {
  const admin = new Kafka({ clientId: 'test-admin', brokers: services().brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: [name] }], includeSynonyms: false });
    return resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
  } finally {
    await admin.disconnect();
  }
}
