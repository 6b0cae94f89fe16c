import { afterEach, describe, expect, it } from 'vitest';
import { deal } from '../../src/catalog/tables/deal.ts';
import { person } from '../../src/catalog/tables/person.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { canonicalRows, latestFromTopic } from './support/compare.ts';
import { parseJsonLine, pipelineEnv, readTopic, runCli, uniqueName, type CliRun, type ConsumedRecord } from './support/harness.ts';
import { api, listAllDeals } from './support/pipedrive.ts';

type Value = Record<string, unknown> & { id: number };

/**
 * The producer against a misbehaving Pipedrive and a second instance of itself: transient edge errors are
 * waited out, a malformed page stops its table before the bad rows (the others go on), and a second
 * producer with the same CONNECTOR_NAME fences the first. In every case each version is in Kafka once.
 */
describe('producer faults', () => {
  let sim: Simulator | undefined;
  const runs: CliRun[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await sim?.close();
    sim = undefined;
  });
  const start = (args: string[], env: Record<string, string>) => {
    const run = runCli(args, env);
    runs.push(run);
    return run;
  };

  it('Cloudflare HTML 403s and connection resets on 10 % of requests: waited out, every deal once', { timeout: 180_000 }, async () => {
    sim = await startSimulator({
      seed: 21,
      deals: 150,
      rateLimit: { dailyBudget: 100_000_000, burst: 5_000 },
      faults: [
        { kind: 'cloudflare403', probability: 0.1, seed: 1 },
        { kind: 'drop', probability: 0.1, seed: 2 },
      ],
    });
    const prefix = uniqueName('edge');
    const run = start(['run', '--once'], pipelineEnv(sim, prefix, { TABLES: 'deal,person,note,lead', HISTORY_REBUILD: 'all', METRICS_PORT: '0' }));
    expect(await run.exit, run.lines.slice(-15).join('\n')).toBe(0);
    const { injected } = sim.faults.stats();
    expect(injected.cloudflare403).toBeGreaterThan(5);
    expect(injected.drop).toBeGreaterThan(5);
    const retries = run.lines.map(parseJsonLine).filter((l) => l?.event === 'retrying' && l.dependency === 'pipedrive');
    expect(retries.some((l) => /403 from Pipedrive's edge: HTML page "Attention Required! \| Cloudflare"/.test(String(l!.error)))).toBe(true);
    expect(retries.some((l) => /no answer from Pipedrive/.test(String(l!.error)))).toBe(true);
    expect(run.lines.some((l) => /table-(failed|waiting)/.test(l))).toBe(false);

    sim.faults.clear();
    const records = await readTopic(`${prefix}.deal`);
    expectEachVersionOnce(records, 'deal');
    expectEachVersionOnce(await readTopic(`${prefix}.deal_history`), 'deal_history');
    const source = (await listAllDeals(sim.baseUrl, sim.token)).filter((d) => d.is_deleted !== true);
    expect(latestFromTopic(deal, records.map((r) => r.value as Value | null), records.map((r) => r.key as Value))).toEqual(canonicalRows(deal, source));
    const persons = await readTopic(`${prefix}.person`);
    expect(new Set(persons.map((r) => (r.key as Value).id)).size).toBe(sim.store.persons.all().filter((p) => p.deletedAtMs === null).length);
  });

  it('a page whose rows lack required fields: the table stops before it, the others sync; fixed, it resumes with each deal once', { timeout: 180_000 }, async () => {
    sim = await startSimulator({ seed: 22, deals: 1200, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    // The second page of deals comes back with rows lacking title, value and update_time.
    sim.faults.add({ kind: 'omitFields', fields: ['title', 'value', 'update_time'], operation: 'getDeals', nth: 2 });
    const prefix = uniqueName('malformed');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal,person', HISTORY_REBUILD: 'off', METRICS_PORT: '0' });
    const broken = start(['run', '--once'], env);
    expect(await broken.exit, broken.lines.slice(-15).join('\n')).toBe(1);
    const failed = broken.lines.map(parseJsonLine).find((l) => l?.event === 'table-failed');
    expect(failed?.table).toBe('deal');
    expect(String(failed?.error)).toMatch(/table deal: row \d+: field "(title|value|update_time)" is missing/);
    expect(broken.lines.join('\n')).toMatch(/1 table\(s\) could not be synced: deal/);

    // Only the first page of deals was published, and the cursor did not move past it; persons are complete.
    const firstPage = await readTopic(`${prefix}.deal`);
    expect(firstPage).toHaveLength(500);
    const persons = await readTopic(`${prefix}.person`);
    expect(new Set(persons.map((r) => (r.key as Value).id)).size).toBe(sim.store.persons.all().filter((p) => p.deletedAtMs === null).length);
    const dealState = (await readTopic(`${prefix}._state`, { decode: false }))
      .filter((r) => JSON.parse(String(r.key))[1].table === 'deal')
      .map((r) => JSON.parse(String(r.value)) as { snapshotDone: boolean; backfill?: unknown });
    expect(dealState).toHaveLength(1); // the first page's transaction, nothing after it
    expect(dealState[0]!.snapshotDone && dealState[0]!.backfill === undefined, 'first sync not marked complete').toBe(false);

    // A long-running producer tries the table again after FAILED_TABLE_RETRY_MS: the page is fine by then.
    sim.faults.add({ kind: 'omitFields', fields: ['title'], operation: 'getDeals', times: 1 });
    const healed = start(['run'], { ...env, FAILED_TABLE_RETRY_MS: '500', POLL_INTERVAL_MS: '200' });
    await healed.waitForLine((l) => l.event === 'table-failed' && l.table === 'deal');
    await healed.waitForLine((l) => l.event === 'table-recovered' && l.table === 'deal', 30_000);
    await waitUntil(async () => (await readTopic(`${prefix}.deal`)).length >= 1200, 30_000);
    healed.child.kill('SIGTERM');
    expect(await healed.exit).toBe(0);
    const records = await readTopic(`${prefix}.deal`);
    expectEachVersionOnce(records, 'deal');
    expect(latestFromTopic(deal, records.map((r) => r.value as Value | null), records.map((r) => r.key as Value))).toEqual(canonicalRows(deal, await listAllDeals(sim.baseUrl, sim.token)));
    expect(person.name).toBe('person');
  });

  it('two producers with one CONNECTOR_NAME: the older is fenced and stops, nothing is published twice', { timeout: 180_000 }, async () => {
    sim = await startSimulator({ seed: 23, deals: 2000, rateLimit: { dailyBudget: 100_000_000, burst: 5_000 } });
    const prefix = uniqueName('zombie');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'off', POLL_INTERVAL_MS: '100', METRICS_PORT: '0' });
    const older = start(['run'], env);
    await older.waitForLine((l) => l.event === 'batch-committed');
    let changing = true;
    const changes = (async () => {
      for (let i = 0; changing; i++) {
        await api(sim!.baseUrl, sim!.token, 'PATCH', `/api/v2/deals/${(i % 2000) + 1}`, { title: `changed ${i}` });
        if (i % 5 === 4) sim!.clock.advance(1000);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    const newer = start(['run'], env);
    expect(await older.exit, older.lines.slice(-10).join('\n')).toBe(1);
    expect(older.lines.join('\n')).toMatch(/another producer with the same CONNECTOR_NAME .* took over; this instance stops/);
    await newer.waitForLine((l) => l.event === 'batch-committed');
    await new Promise((r) => setTimeout(r, 1500));
    changing = false;
    await changes;
    newer.child.kill('SIGTERM');
    expect(await newer.exit).toBe(0);
    // Whatever either instance had in flight, a clean run catches up from the state both wrote.
    const last = start(['run', '--once'], env);
    expect(await last.exit).toBe(0);
    const records = await readTopic(`${prefix}.deal`);
    expectEachVersionOnce(records, 'deal');
    expect(latestFromTopic(deal, records.map((r) => r.value as Value | null), records.map((r) => r.key as Value))).toEqual(canonicalRows(deal, await listAllDeals(sim.baseUrl, sim.token)));
  });
});

/** No version of a key appears twice (same content; capture time and op aside). */
function expectEachVersionOnce(records: readonly ConsumedRecord[], topic: string): void {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const r of records) {
    if (r.value === null) continue;
    const { __synced_ms: _s, __op: _o, ...content } = r.value as Value;
    const id = `${JSON.stringify(r.key)}:${JSON.stringify(content)}`;
    if (seen.has(id)) repeated.push(JSON.stringify(r.key));
    seen.add(id);
  }
  expect(repeated.slice(0, 5), `${topic}: ${repeated.length} versions published twice`).toEqual([]);
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
