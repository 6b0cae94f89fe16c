import { createHmac, randomBytes } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulator/clock.ts';
import { operationOf } from '../../src/simulator/index.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { pipelineEnv, readTopic, runCli, services, uniqueName } from './support/harness.ts';
import { loadProducerConfig } from '../../src/config.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer } from '../../src/producer.ts';
import { adminToken, readOnlyToken, startWithApi } from './support/admin-producer.ts';
import { openApiValidator } from './support/openapi.ts';

type Json = Record<string, unknown>;

/** The latest record of each deal in the topic: its title, or deleted. */
async function topicDeals(prefix: string): Promise<Map<number, { title: unknown; deleted: boolean; value: Json | null }>> {
  const out = new Map<number, { title: unknown; deleted: boolean; value: Json | null }>();
  for (const r of await readTopic(`${prefix}.deal`)) {
    const id = Number((r.key as Json).id);
    const v = r.value as Json | null;
    out.set(id, v === null ? { title: out.get(id)?.title, deleted: true, value: null } : { title: v.title, deleted: v.__deleted === true, value: v });
  }
  return out;
}

/** Waits until every live, unarchived deal of the simulator is in the topic with its title, and the deleted ones are deleted. */
async function topicEqualsSource(sim: Simulator, prefix: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let diff: string[] = [];
  while (Date.now() < deadline) {
    const topic = await topicDeals(prefix);
    diff = [];
    for (const d of sim.store.deals.table.all()) {
      if (d.data.is_archived) continue;
      const t = topic.get(d.id);
      if (d.deletedAtMs !== null) {
        if (t && !t.deleted) diff.push(`${d.id} deleted in the source, live in the topic`);
      } else if (!t || t.deleted || t.title !== d.data.title) diff.push(`${d.id}: source ${JSON.stringify(d.data.title)}, topic ${JSON.stringify(t?.title)}${t?.deleted ? ' (deleted)' : ''}`);
    }
    if (diff.length === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the topic does not equal the source after ${timeoutMs} ms: ${diff.slice(0, 5).join('; ')}`);
}

async function call(sim: Simulator, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${sim.baseUrl}${path}`, { method, headers: { 'x-api-token': sim.token, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as { success: boolean; data: Json };
  if (!res.ok || !json.success) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
  return json.data;
}

async function subjectFields(subject: string): Promise<string[] | undefined> {
  const res = await fetch(`${services().registryUrl}/subjects/${subject}/versions/latest`);
  return res.ok ? (JSON.parse(String(((await res.json()) as Json).schema)) as { fields: Array<{ name: string }> }).fields.map((f) => f.name) : undefined;
}

/**
 * Settings changed through the admin API of a running producer against the simulator and real Kafka:
 * every response validates against spec/admin-api.yaml; the read-only token changes nothing; a pause
 * shows at once and loses nothing; a blocked column leaves new records; the CLI drives it; a new session
 * reads the settings back from `<prefix>._config`; under block-all a new custom field waits for `enable`.
 */
describe('admin API: runtime settings', () => {
  it('pause/resume without loss, a column blocked through the CLI, the read-only token refused, settings kept across a restart', { timeout: 300_000 }, async () => {
    const sim = await startSimulator({ seed: 8, deals: 15, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z') }) });
    const prefix = uniqueName('settings');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', POLL_INTERVAL_MS: '300', TOPIC_PARTITIONS: '1', HISTORY_REBUILD: 'off' });
    let p = await startWithApi(env);
    try {
      await topicEqualsSource(sim, prefix);
      const c = `/v1/connectors/${prefix}`;

      // No token or a wrong one: 401 on reading and on changing.
      for (const [method, path] of [['GET', `${c}/settings`], ['POST', `${c}/pause`], ['GET', `${c}/audit`]] as const) {
        for (const token of [null, 'w'.repeat(48)]) expect((await p.call(method, path, undefined, token)).status, `${method} ${path}`).toBe(401);
      }
      // The read-only token reads, and changes nothing.
      const initial = await p.call('GET', `${c}/settings`, undefined, readOnlyToken);
      expect(initial.body).toEqual({ rules: {}, rulesFrom: 'file', paused: false, pausedTables: [] });
      for (const [method, path, body] of [
        ['POST', `${c}/pause`, undefined],
        ['POST', `${c}/tables/deal/pause`, undefined],
        ['POST', `${c}/tables/deal/columns/title/block`, undefined],
        ['PUT', `${c}/tables/deal/filter`, { filter: { column: 'status', eq: 'open' } }],
        ['PUT', `${c}/schema-changes`, { policy: 'block-all' }],
        ['DELETE', `${c}/rules`, undefined],
      ] as const) {
        const r = await p.call(method, path, body, readOnlyToken);
        expect(r.status, `${method} ${path}`).toBe(403);
      }
      expect((await p.call('GET', `${c}/settings`, undefined, readOnlyToken)).body).toEqual(initial.body);
      expect((await p.call('GET', `${c}/audit`, undefined, readOnlyToken)).body).toEqual({ entries: [] });
      expect((await p.call('GET', c, undefined, readOnlyToken)).body.state).toBe('running');

      // Paused through the CLI: the status says so at once; nothing is polled while paused.
      const pause = runCli(['pause', prefix], p.cliEnv);
      expect(await pause.exit, pause.lines.join('\n')).toBe(0);
      expect(pause.lines[0]).toBe(`pause ${prefix}: done (by ops-admin at ${pause.lines[0]!.split(' at ')[1]!}`);
      const status = await p.call('GET', c, undefined, readOnlyToken);
      expect(status.body.state).toBe('paused');
      const pausedAt = p.lines.length;
      const before = (await readTopic(`${prefix}.deal`)).length;
      const live = sim.store.deals.table.all().filter((d) => d.deletedAtMs === null && !d.data.is_archived);
      sim.clock.advance(1000);
      await call(sim, 'PATCH', `/api/v2/deals/${live[0]!.id}`, { title: 'Changed while paused 1' });
      await call(sim, 'PATCH', `/api/v2/deals/${live[1]!.id}`, { title: 'Changed while paused 2' });
      await call(sim, 'DELETE', `/api/v2/deals/${live[2]!.id}`);
      const created = await call(sim, 'POST', '/api/v2/deals', { title: 'Created while paused' });
      sim.clock.advance(1000);
      await new Promise((r) => setTimeout(r, 3000)); // ten poll intervals
      expect(p.lines.slice(pausedAt).filter((l) => l.event === 'batch-committed'), 'no batch while paused').toEqual([]);
      expect((await readTopic(`${prefix}.deal`)).length).toBe(before);

      // Resumed through the CLI: every change made meanwhile arrives; the topic equals the source.
      const resume = runCli(['resume', prefix], p.cliEnv);
      expect(await resume.exit, resume.lines.join('\n')).toBe(0);
      expect((await p.call('GET', c, undefined, readOnlyToken)).body.state).toBe('running');
      await topicEqualsSource(sim, prefix);
      expect((await topicDeals(prefix)).get(Number(created.id))?.title).toBe('Created while paused');

      // One table paused: shown at once, resumed.
      await p.call('POST', `${c}/tables/deal/pause`);
      expect(((await p.call('GET', c)).body.tables as Json[]).find((t) => t.name === 'deal')?.state).toBe('paused');
      await p.call('POST', `${c}/tables/deal/resume`);
      expect(((await p.call('GET', c)).body.tables as Json[]).find((t) => t.name === 'deal')?.state).toBe('ok');

      // A column blocked through the CLI: adopted at a batch boundary, gone from the schema and from new records.
      const adopted = p.lines.length;
      const block = runCli(['block', prefix, 'deal.title'], p.cliEnv);
      expect(await block.exit, block.lines.join('\n')).toBe(0);
      await p.waitFor((l) => l.event === 'settings-adopted', adopted);
      const target = live[3]!;
      sim.clock.advance(1000);
      await call(sim, 'PATCH', `/api/v2/deals/${target.id}`, { title: 'SECRET-TITLE-41', value: 4141 });
      sim.clock.advance(1000);
      const deadline = Date.now() + 60_000;
      while ((await topicDeals(prefix)).get(target.id)?.value?.value !== 4141) {
        if (Date.now() > deadline) throw new Error('the change after blocking title never arrived');
        await new Promise((r) => setTimeout(r, 500));
      }
      const latest = (await topicDeals(prefix)).get(target.id)!.value!;
      expect(Object.keys(latest)).not.toContain('title');
      expect((await readTopic(`${prefix}.deal`, { decode: false })).some((r) => (r.value as Buffer | null)?.includes('SECRET-TITLE-41'))).toBe(false);
      expect(await subjectFields(`${prefix}.deal-value`)).not.toContain('title');
      const columns = (await p.call('GET', `${c}/tables/deal`, undefined, readOnlyToken)).body.columns as Json[];
      expect(columns.find((x) => x.name === 'title')).toMatchObject({ sync: 'blocked', publishedAs: null });

      // The audit through the CLI: newest first, by token name.
      const audit = runCli(['audit', prefix], { ADMIN_API_URL: p.api.url, ADMIN_API_READONLY_TOKEN: readOnlyToken });
      expect(await audit.exit, audit.lines.join('\n')).toBe(0);
      expect(audit.lines[0]).toMatch(/^at\s+by\s+action\s+target\s+change$/);
      expect(audit.lines.slice(1).map((l) => l.split(/\s+/).slice(1, 4))).toEqual([
        ['ops-admin', 'block-column', 'deal.title'],
        ['ops-admin', 'resume-table', 'deal'],
        ['ops-admin', 'pause-table', 'deal'],
        ['ops-admin', 'resume', prefix],
        ['ops-admin', 'pause', prefix],
      ]);
      const auditJson = runCli(['audit', prefix, '--json', '--limit', '2'], { ADMIN_API_URL: p.api.url, ADMIN_API_READONLY_TOKEN: readOnlyToken });
      expect(await auditJson.exit, auditJson.lines.join('\n')).toBe(0);
      const answer = JSON.parse(auditJson.lines.join('\n')) as Json;
      openApiValidator()('GET', `${c}/audit`, 200, answer);
      expect((answer.entries as Json[]).map((e) => e.action)).toEqual(['block-column', 'resume-table']);
      const refused = runCli(['pause', prefix], { ADMIN_API_URL: p.api.url, ADMIN_API_TOKEN: readOnlyToken });
      expect(await refused.exit).toBe(2);
      expect(refused.lines.join('\n')).toContain('(403)');

      // A new producer (a restart) reads the settings from the config topic: title stays blocked.
      await p.stop();
      p = await startWithApi(env);
      await p.waitFor((l) => l.event === 'table-resumed');
      expect(p.run.settings.view()).toMatchObject({ rulesFrom: 'api', rules: { tables: { deal: { block: ['title'] } } }, paused: false });
      sim.clock.advance(1000);
      await call(sim, 'PATCH', `/api/v2/deals/${target.id}`, { title: 'SECRET-TITLE-42', value: 4242 });
      sim.clock.advance(1000);
      while ((await topicDeals(prefix)).get(target.id)?.value?.value !== 4242) {
        if (Date.now() > deadline + 60_000) throw new Error('the change after the restart never arrived');
        await new Promise((r) => setTimeout(r, 500));
      }
      expect((await readTopic(`${prefix}.deal`, { decode: false })).some((r) => (r.value as Buffer | null)?.includes('SECRET-TITLE-42'))).toBe(false);
      expect(((await p.call('GET', `${c}/audit`, undefined, readOnlyToken)).body.entries as Json[]).length).toBe(5);
      // No token in any log line, nor in the config and audit topics; the config topic is compacted, the audit kept.
      expect(JSON.stringify(p.lines)).not.toContain(adminToken);
      const audited = (await readTopic(`${prefix}._audit`, { decode: false })).map((r) => JSON.parse(String(r.value)) as Json);
      expect(audited.map((e) => e.action)).toEqual(['pause', 'resume', 'pause-table', 'resume-table', 'block-column']);
      const stored = await readTopic(`${prefix}._config`, { decode: false });
      expect(JSON.parse(String(stored.at(-1)!.value))).toMatchObject({ rules: { tables: { deal: { block: ['title'] } } }, paused: false, pausedTables: [] });
      for (const token of [adminToken, readOnlyToken]) expect(JSON.stringify([audited, String(stored.at(-1)!.value)])).not.toContain(token);
      const kafka = new Kafka({ clientId: 'settings-test', brokers: services().brokers, logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [`${prefix}._config`, `${prefix}._audit`].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy', 'retention.ms'] })) });
      await admin.disconnect();
      const configOf = (topic: string, name: string) => described.resources.find((r) => r.resourceName === topic)!.configEntries.find((e) => e.configName === name)!.configValue;
      expect(configOf(`${prefix}._config`, 'cleanup.policy')).toBe('compact');
      expect(configOf(`${prefix}._audit`, 'cleanup.policy')).toBe('delete');
      expect(configOf(`${prefix}._audit`, 'retention.ms')).toBe('-1');
    } finally {
      await p.stop();
      await sim.close();
    }
  });

  it('a pause in the middle of a pass stops it at the next batch; resume continues from the offset without loss', { timeout: 240_000 }, async () => {
    const sim = await startSimulator({ seed: 9, deals: 1600, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z') }) });
    // A gate on the deal list after its first page: the pause is written while the pass is surely under way.
    let pages = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    sim.interceptors.push((_req, res, next) => {
      if (operationOf(res) !== 'getDeals' || ++pages < 2) return next();
      void gate.then(() => next());
    });
    const prefix = uniqueName('settings_midpass');
    const p = await startWithApi(pipelineEnv(sim, prefix, { TABLES: 'deal', POLL_INTERVAL_MS: '300', TOPIC_PARTITIONS: '1', HISTORY_REBUILD: 'off' }));
    try {
      const c = `/v1/connectors/${prefix}`;
      await p.waitFor((l) => l.event === 'batch-committed' && l.table === 'deal');
      expect((await p.call('POST', `${c}/pause`)).status).toBe(200);
      const pausedAt = p.lines.length;
      open();
      await new Promise((r) => setTimeout(r, 3000));
      // At most the batch read before the pause was seen; the pass stopped short of the table's end.
      const after = p.lines.slice(pausedAt).filter((l) => l.event === 'batch-committed' && l.table === 'deal');
      expect(after.length).toBeLessThanOrEqual(1);
      const live = sim.store.deals.table.all().filter((d) => d.deletedAtMs === null && !d.data.is_archived);
      const stalled = await topicDeals(prefix);
      expect(stalled.size).toBeLessThan(live.length);
      await new Promise((r) => setTimeout(r, 1500));
      expect((await topicDeals(prefix)).size, 'nothing published while paused').toBe(stalled.size);

      expect((await p.call('POST', `${c}/resume`)).status).toBe(200);
      await topicEqualsSource(sim, prefix);
    } finally {
      await p.stop();
      await sim.close();
    }
  });

  it('block-all: a new custom field arrives blocked, appears once enabled through the API, and is hashed from the next change', { timeout: 240_000 }, async () => {
    const sim = await startSimulator({ seed: 5, deals: 12, clock: new SimClock({ start: new Date('2026-05-04T09:00:00Z') }) });
    const prefix = uniqueName('settings_policy');
    const salt = randomBytes(16).toString('hex');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', POLL_INTERVAL_MS: '300', TOPIC_PARTITIONS: '1', HISTORY_REBUILD: 'off', SCHEMA_CHANGES: 'block-all', HASH_SALT: salt });
    const first = startProducer(loadProducerConfig(env), { metrics: createMetrics('producer'), log: () => undefined, untilCaughtUp: true });
    await first.done;
    const field = await call(sim, 'POST', '/api/v2/dealFields', { field_name: 'Region code', field_type: 'varchar' });
    const deal = sim.store.deals.table.all().find((r) => r.deletedAtMs === null && !r.data.is_archived)!;
    sim.clock.advance(1000);
    await call(sim, 'PATCH', `/api/v2/deals/${deal.id}`, { custom_fields: { [String(field.field_code)]: 'REGION-SECRET-77' } });
    const p = await startWithApi(env);
    try {
      const c = `/v1/connectors/${prefix}`;
      await p.waitFor((l) => l.event === 'batch-committed' && l.table === 'deal');
      const held = ((await p.call('GET', `${c}/tables/deal`)).body.columns as Json[]).find((x) => x.name === 'region_code');
      expect(held).toMatchObject({ sync: 'blocked-by-policy', publishedAs: null });
      expect(await subjectFields(`${prefix}.deal-value`)).not.toContain('region_code');
      expect((await readTopic(`${prefix}.deal`, { decode: false })).some((r) => (r.value as Buffer | null)?.includes('REGION-SECRET-77'))).toBe(false);

      const from = p.lines.length;
      const enabled = await p.call('POST', `${c}/enable`, { enable: ['deal.region_code'] });
      expect(enabled.status).toBe(200);
      expect(enabled.body.settings).toMatchObject({ rulesFrom: 'api', rules: { schemaChanges: 'block-all', enable: ['deal.region_code'] } });
      await p.waitFor((l) => l.event === 'settings-adopted', from);
      sim.clock.advance(1000);
      await call(sim, 'PATCH', `/api/v2/deals/${deal.id}`, { custom_fields: { [String(field.field_code)]: 'REGION-OPEN-78' } });
      sim.clock.advance(1000);
      const deadline = Date.now() + 60_000;
      while ((await topicDeals(prefix)).get(deal.id)?.value?.region_code !== 'REGION-OPEN-78') {
        if (Date.now() > deadline) throw new Error('the enabled column never arrived');
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(await subjectFields(`${prefix}.deal-value`)).toContain('region_code');
      expect(((await p.call('GET', `${c}/tables/deal`)).body.columns as Json[]).find((x) => x.name === 'region_code')).toMatchObject({ sync: 'synced' });

      // Hashed through the API after it was synced in clear: a warning, then new records carry only the hash.
      const hashFrom = p.lines.length;
      const hashed = await p.call('POST', `${c}/tables/deal/columns/region_code/hash`);
      expect(hashed.body.warnings).toEqual([expect.stringMatching(/keep their clear region_code .*re-sync deal/)]);
      await p.waitFor((l) => l.event === 'settings-adopted', hashFrom);
      sim.clock.advance(1000);
      await call(sim, 'PATCH', `/api/v2/deals/${deal.id}`, { custom_fields: { [String(field.field_code)]: 'REGION-HASHED-79' } });
      sim.clock.advance(1000);
      const expected = createHmac('sha256', salt).update('REGION-HASHED-79').digest('hex');
      while ((await topicDeals(prefix)).get(deal.id)?.value?.region_code_sha256 !== expected) {
        if (Date.now() > deadline + 60_000) throw new Error('the hashed column never arrived');
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(Object.keys((await topicDeals(prefix)).get(deal.id)!.value!)).not.toContain('region_code');
      expect((await readTopic(`${prefix}.deal`, { decode: false })).some((r) => (r.value as Buffer | null)?.includes('REGION-HASHED-79'))).toBe(false);
      const fields = await subjectFields(`${prefix}.deal-value`);
      expect(fields).toContain('region_code_sha256');
      expect(fields).not.toContain('region_code');
    } finally {
      await p.stop();
      await sim.close();
    }
  });
});
