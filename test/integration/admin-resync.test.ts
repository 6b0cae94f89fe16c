import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { adminToken, readOnlyToken, startWithApi } from './support/admin-producer.ts';
import { pipelineEnv, readTopic, runCli, uniqueName } from './support/harness.ts';

type Json = Record<string, unknown>;
const DAY = 24 * 3_600_000;

/**
 * Re-sync through the admin API and the CLI of a running producer (real Kafka, the local Pipedrive): every
 * answer validates against spec/admin-api.yaml; a table the connector cannot re-sync and the read-only token
 * are refused with nothing started; a re-sync publishes every live deal again under its generation, with
 * begin and end markers on every partition, and not a deal purged while the producer was paused (what the
 * sink's sweep soft-deletes, test/integration/resync.test.ts); each request is audited under the token's name.
 */
describe('admin API: re-sync', () => {
  it('POST …/resync and `pipedrive-cdc resync` re-publish every deal under a new generation; refusals start nothing', { timeout: 300_000 }, async () => {
    const sim = await startSimulator({ seed: 12, deals: 120, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z') }) });
    const prefix = uniqueName('apiresync');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', POLL_INTERVAL_MS: '300', TOPIC_PARTITIONS: '2', HISTORY_REBUILD: 'off' });
    const p = await startWithApi(env);
    const topic = `${prefix}.deal`;
    const c = `/v1/connectors/${prefix}`;
    const header = (r: { headers?: Readonly<Record<string, Buffer>> }, name: string) => r.headers?.[name]?.toString();
    try {
      await p.waitFor((l) => l.event === 'batch-committed');
      // Paused, a deal is deleted and purged (31 days): no poll sees its deleted state, only a re-sync can.
      expect((await p.call('POST', `${c}/pause`)).status).toBe(200);
      const purged = 17;
      await fetch(`${sim.baseUrl}/api/v2/deals/${purged}`, { method: 'DELETE', headers: { 'x-api-token': sim.token } });
      sim.clock.advance(31 * DAY);
      expect((await p.call('POST', `${c}/resume`)).status).toBe(200);

      // Refusals: an unknown table, a child table, a bad body, the read-only token — nothing starts.
      for (const body of [{ tables: ['nope'] }, { tables: ['deal_participant'] }, { tables: [] }, { table: 'deal' }]) {
        const res = await p.call('POST', `${c}/resync`, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(String(res.body.message)).toMatch(/nope|deal_participant|tables/);
      }
      expect((await p.call('POST', `${c}/resync`, { tables: ['deal'] }, readOnlyToken)).status).toBe(403);
      expect((await p.call('POST', '/v1/connectors/nobody/resync', { tables: ['deal'] })).status).toBe(404);
      expect(p.lines.some((l) => l.event === 'resync-started')).toBe(false);

      const first = await p.call('POST', `${c}/resync`, { tables: ['deal'] });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ connector: prefix, state: 'started', tables: ['deal'] });
      const generation = String(first.body.generation);

      // The topic: begin and end markers of the generation on both partitions; every live deal again under it.
      const live = sim.store.deals.table.all().filter((d) => d.deletedAtMs === null && !d.data.is_archived).map((d) => d.id);
      const deadline = Date.now() + 120_000;
      let records = await readTopic(topic);
      const ends = () => records.filter((r) => header(r, 'pipedrive-cdc.marker') === 'resync-end' && header(r, 'pipedrive-cdc.resync') === generation);
      while (ends().length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        records = await readTopic(topic);
      }
      const begins = records.filter((r) => header(r, 'pipedrive-cdc.marker') === 'resync-begin' && header(r, 'pipedrive-cdc.resync') === generation);
      expect(new Set(begins.map((r) => r.partition))).toEqual(new Set([0, 1]));
      expect(new Set(ends().map((r) => r.partition))).toEqual(new Set([0, 1]));
      const ofGeneration = records.filter((r) => r.value !== null && header(r, 'pipedrive-cdc.resync') === generation);
      const again = new Set(ofGeneration.filter((r) => (r.value as Json).__op !== 'd').map((r) => Number((r.key as Json).id)));
      for (const id of live) expect(again.has(id), `deal ${id} re-published under generation ${generation}`).toBe(true);
      expect(again.has(purged)).toBe(false);
      // The daily id scan is due after the 31 days: it may find the purged deal before the re-sync starts, or
      // (its delete then stamped with the generation) after; a delete event is all the generation may hold of it.
      expect(ofGeneration.filter((r) => Number((r.key as Json).id) === purged).every((r) => (r.value as Json).__op === 'd')).toBe(true);

      // The CLI does the same; a later generation; both requests audited under the admin token's name.
      const cli = runCli(['resync', prefix, 'deal', '--json'], p.cliEnv);
      expect(await cli.exit, cli.lines.join('\n')).toBe(0);
      const answer = JSON.parse(cli.lines.join('\n')) as Json;
      expect(['started', 'requested']).toContain(answer.state);
      if (answer.state === 'started') expect(Number(answer.generation)).toBeGreaterThan(Number(generation));
      const refused = runCli(['resync', prefix, 'nope'], p.cliEnv);
      expect(await refused.exit).toBe(1);
      expect(refused.lines.join('\n')).toMatch(/"nope" cannot be re-synced/);
      const audit = await p.call('GET', `${c}/audit`, undefined, adminToken);
      const resyncs = (audit.body.entries as Json[]).filter((e) => e.action === 'resync');
      expect(resyncs.length).toBe(2);
      expect(resyncs.every((e) => e.by === 'ops-admin' && e.target === 'deal')).toBe(true);
    } finally {
      await p.stop();
      await sim.close();
    }
  });
});
