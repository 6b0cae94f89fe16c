import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { parseJsonLine, pipelineEnv, readTopic, runCli, services, uniqueName, type ConsumedRecord } from './support/harness.ts';

/**
 * Imports past Kafka's limits on a broker with the default max.message.bytes (1 MB): a 30,000-lead
 * re-import (a whole table read every pass) and 3,000 notes of 20 KB HTML (Recents' full import) go out
 * in bounded transactions, each version once; a producer killed in the middle of the re-import resumes it
 * where it stopped.
 */
describe('imports at scale', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  async function bigAccount(leads: number, notes: number): Promise<Simulator> {
    const s = await startSimulator({ seed: 31, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    for (let i = 0; i < leads; i++) s.store.v1.leads.create(1, { title: `lead ${i}` });
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
    expect(batches.filter((l) => l!.table === 'lead').length).toBeGreaterThanOrEqual(15); // at most 2,000 records each
    expect(batches.filter((l) => l!.table === 'note').length).toBeGreaterThanOrEqual(3); // at most 4 MB each
    for (const b of batches) expect(Number(b!.records)).toBeLessThanOrEqual(2 * 2_000 + 10); // a lead's history copy doubles it
    expectEachKeyOnce(await readTopic(`${prefix}.lead`, { decode: false }), 30_000);
    expectEachKeyOnce(await readTopic(`${prefix}.note`, { decode: false }), 3_000);

    // The offsets stay small: no key → hash map of the whole table in the state records.
    const state = await readTopic(`${prefix}._state`, { decode: false });
    for (const r of state) expect((r.value as Buffer).length, 'state record bytes').toBeLessThan(16 * 1024);
    // And the data topics kept the broker's default record size limit.
    expect(await topicConfig(`${prefix}.note`, 'max.message.bytes')).toBe('1048588');

    // Nothing changed: the next pass reads the leads again and publishes nothing.
    const again = runCli(['run', '--once'], pipelineEnv(sim, prefix, { TABLES: 'lead', METRICS_PORT: '0' }));
    expect(await again.exit).toBe(0);
    expect(again.lines.map(parseJsonLine).filter((l) => l?.event === 'batch-committed')).toEqual([]);
  });

  it('killed in the middle of a 30,000-lead re-import: the restart resumes it, each lead once', { timeout: 300_000 }, async () => {
    sim = await bigAccount(30_000, 0);
    const prefix = uniqueName('resume');
    const env = (failpoint: string) => pipelineEnv(sim!, prefix, { TABLES: 'lead', METRICS_PORT: '0', PIPEDRIVE_CDC_FAILPOINT: failpoint });
    const killed = runCli(['run', '--once'], env('publish.after-commit:5'));
    expect(await killed.exit).toBe('SIGKILL');
    const committedBefore = (await readTopic(`${prefix}.lead`, { decode: false })).length;
    expect(committedBefore).toBeGreaterThanOrEqual(4 * 2_000);
    expect(committedBefore).toBeLessThan(30_000);

    sim.requestCount.reset();
    const resumed = runCli(['run', '--once'], env(''));
    expect(await resumed.exit, resumed.lines.slice(-15).join('\n')).toBe(0);
    const line = resumed.lines.map(parseJsonLine).find((l) => l?.event === 'table-resumed' && l.table === 'lead');
    expect(line?.importInProgress).toBe(true);
    // The resumed import read only what was left (40 of the 60 pages of 500), then the next pass — leads
    // are re-imported every pass — read all 60 and found nothing new; starting over would have read 120.
    expect(sim.requestCount.count('getLeads')).toBe(40 + 60);
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
