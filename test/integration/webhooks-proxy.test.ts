import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProducerConfig } from '../../src/config.ts';
import { startNginx, type LocalNginx } from '../../src/infra/nginx.ts';
import { makeTestPki, type TestPki } from '../../src/infra/pki.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { createMetrics } from '../../src/observe/metrics.ts';
import { startProducer, type ProducerRun } from '../../src/producer.ts';
import { startSimulator, type Simulator } from '../../src/simulator/server.ts';
import { freePort, pipelineEnv, readTopic, uniqueName, until } from './support/harness.ts';
import { api } from './support/pipedrive.ts';

/**
 * The webhook receiver behind a real TLS reverse proxy (Debian's nginx, a test CA), as docs/OPERATIONS.md
 * "Webhooks" sets it up: WEBHOOK_PUBLIC_URL is nginx's https URL with a path prefix nginx routes to the
 * receiver (bound to 127.0.0.1 only), and the local Pipedrive delivers there, trusting the test CA. Oracles:
 * the simulator's webhook list and delivery attempts, nginx's access log, the topic as a consumer reads it.
 */
type Row = Record<string, unknown>;
const PASSWORD = 'proxy-webhook-secret-0123456789abcdef';
const PREFIX_PATH = '/hooks/acme';

describe('webhooks through a TLS reverse proxy (nginx)', () => {
  let sim: Simulator;
  let pki: TestPki;
  let nginx: LocalNginx;
  let receiverPort: number;

  beforeAll(async () => {
    pki = await makeTestPki(join(mkdtempSync(join(tmpdir(), 'pcdc-whp-')), 'pki'));
    sim = await startSimulator({ seed: 15, deals: 20, webhooks: { ca: readFileSync(pki.ca.cert, 'utf8') } });
    receiverPort = await freePort();
    // nginx terminates TLS and routes the prefix to the receiver; the receiver checks the credentials.
    nginx = await startNginx({ upstream: `http://127.0.0.1:${receiverPort}/pipedrive`, tls: pki.server, users: [], pathPrefix: PREFIX_PATH, passAuthorization: true, log: (m) => console.log(`[nginx] ${m}`) });
  }, 120_000);
  afterAll(async () => {
    await nginx?.stop();
    await sim?.close();
  });

  const publicUrl = () => `${nginx.url}${PREFIX_PATH}`;
  const served = () => readFileSync(nginx.accessLog, 'utf8').split('\n').filter(Boolean);

  it('WEBHOOK_PUBLIC_URL=https://nginx/hooks/acme: Pipedrive delivers through the proxy, a deal change is in its topic within 5 s under a 10-minute poll; wrong credentials through the proxy are refused', async () => {
    const prefix = uniqueName('whp');
    const env = pipelineEnv(sim, prefix, { TABLES: 'deal', HISTORY_REBUILD: 'off', POLL_INTERVAL_MS: '600000', METRICS_PORT: '0' });
    const metrics = createMetrics('producer');
    let run: ProducerRun | undefined;
    try {
      run = startProducer(loadProducerConfig({ ...env, WEBHOOK_PUBLIC_URL: publicUrl(), WEBHOOK_PORT: String(receiverPort), WEBHOOK_HOST: '127.0.0.1', WEBHOOK_PASSWORD: PASSWORD }), { metrics, log: silentLogger });
      const r = run;
      await until('the first pass', () => r.status().tables.length === 1 && r.status().tables.every((t) => t.snapshotDone && t.lastPassStartedAt !== null));
      const ours = sim.store.webhooks.list().filter((w) => w.subscriptionUrl === publicUrl());
      expect(ours.map((w) => w.eventObject)).toEqual(['deal']);

      const logBefore = served().length;
      const changedAt = Date.now();
      await api(sim.baseUrl, sim.token, 'PATCH', '/api/v2/deals/3', { title: 'through the proxy' });
      await until('the change in the deal topic', async () => (await readTopic(`${prefix}.deal`)).some((r) => (r.value as Row | null)?.title === 'through the proxy'), 5000);
      expect((Date.now() - changedAt) / 1000).toBeLessThan(5);
      // It came over TLS through nginx, at the prefix, and the receiver accepted it.
      const hookId = ours[0]!.id;
      expect(sim.webhooks.attempts.filter((a) => a.webhookId === hookId && a.entityId === 3).map((a) => a.status)).toContain(200);
      expect(served().slice(logBefore)).toContainEqual(`pipedrive-cdc-${prefix} "POST ${PREFIX_PATH} HTTP/1.1" 200`);

      // Wrong or no credentials through the proxy: the receiver's 401 comes back through nginx, counted.
      const body = JSON.stringify({ meta: { action: 'change', entity: 'deal', entity_id: 3, webhook_id: hookId, version: '2.0' }, data: { id: 3, title: 'forged' }, previous: null });
      const basic = `Basic ${Buffer.from(`pipedrive-cdc-${prefix}:not-the-password-at-all`).toString('base64')}`;
      const { Agent, fetch: tlsFetch } = await import('undici');
      const agent = new Agent({ connect: { ca: readFileSync(pki.ca.cert, 'utf8') } });
      try {
        const wrong = await tlsFetch(publicUrl(), { method: 'POST', dispatcher: agent, headers: { authorization: basic, 'content-type': 'application/json' }, body });
        expect(wrong.status).toBe(401);
        const none = await tlsFetch(publicUrl(), { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body });
        expect(none.status).toBe(401);
        // Paths outside the prefix never reach the receiver.
        const other = await tlsFetch(`${nginx.url}/hooks/other`, { method: 'POST', dispatcher: agent, headers: { authorization: basic }, body });
        expect(other.status).toBe(404);
      } finally {
        await agent.close();
      }
      const refused = (await metrics.webhooksRefused.get()).values.filter((v) => v.labels.reason === 'credentials').reduce((n, v) => n + v.value, 0);
      expect(refused).toBe(2);
      expect((await readTopic(`${prefix}.deal`)).some((r) => (r.value as Row | null)?.title === 'forged')).toBe(false);
    } finally {
      await run?.stop({ removeWebhooks: true });
    }
    expect(sim.store.webhooks.list().filter((w) => w.subscriptionUrl === publicUrl())).toEqual([]);
  }, 120_000);
});
