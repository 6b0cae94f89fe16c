/**
 * The connector's webhook endpoint: Pipedrive POSTs a v2 body for each change (issue 14). A webhook is a
 * hint, never data: the body is checked at the boundary only for what names the change — entity, id,
 * action, the webhook it came through — and `onHint` is told which table to read now; the rows
 * themselves still come from the API (a forged or stale `data` can change nothing). Lost, late or
 * duplicated webhooks change nothing either: the regular poll stays the source of truth.
 *
 * Refused with 401 and counted (pipedrive_cdc_webhooks_refused_total{reason}): missing or wrong basic
 * auth (compared in constant time), and a webhook id this connector did not register or adopt. A body
 * that is not a v2 webhook is a 400. Any path is accepted (a reverse proxy in front may rewrite it);
 * GET /healthz answers 200 for the proxy's checks.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { z } from 'zod';
import { catalog } from '../catalog/index.ts';
import type { Logger } from '../observe/log.ts';
import type { Metrics } from '../observe/metrics.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenError } from '../observe/server.ts';

export interface WebhookHint {
  /** The catalog table whose incremental pass should run now. */
  readonly table: string;
  /** The changed entity's id (a number; a UUID for leads). */
  readonly id: number | string;
  readonly action: 'create' | 'change' | 'delete';
  readonly webhookId: number;
  /** meta.timestamp (when Pipedrive saw the change), if it parsed: for change → Kafka latency, not for logic. */
  readonly changedAtMs: number | undefined;
  readonly receivedAtMs: number;
}

/** Webhook entity → the catalog table its changes land in (entities without a table are acknowledged and ignored). */
export const ENTITY_TABLES: Readonly<Record<string, string>> = {
  activity: 'activity', deal: 'deal', lead: 'lead', note: 'note', organization: 'organization', person: 'person',
  pipeline: 'pipeline', product: 'product', stage: 'stage', user: 'user', deal_product: 'product_deal',
  deal_installment: 'installment', project: 'project', task: 'task',
};

export type RefusalReason = 'credentials' | 'unknown_webhook' | 'malformed' | 'method' | 'ignored_entity';

export interface WebhookReceiverOptions {
  readonly connector: string;
  readonly user: string;
  readonly password: string;
  /** Ids of the webhooks this connector registered or adopted (pipedrive/webhooks.ts); others are refused. */
  readonly knownWebhookIds: () => ReadonlySet<number>;
  readonly onHint: (hint: WebhookHint) => void;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  readonly now?: () => number;
}

const intId = z.union([z.number().int().positive(), z.string().regex(/^\d+$/).transform(Number)]);

/** Only what a hint needs; everything else in the body (data, previous, the rest of meta) is not read. */
const webhookBody = z.object({
  meta: z.object({
    action: z.enum(['create', 'change', 'delete']),
    entity: z.string().min(1).max(64),
    entity_id: z.union([intId, z.string().regex(/^[0-9a-f-]{36}$/i)]),
    webhook_id: intId,
    version: z.literal('2.0'),
    timestamp: z.string().optional(),
  }),
});

export function webhookApp(opts: WebhookReceiverOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const expected = digest(`${opts.user}:${opts.password}`);
  const refuse = (reason: RefusalReason, fields: Record<string, unknown> = {}): void => {
    opts.metrics?.webhooksRefused.inc({ connector: opts.connector, reason });
    if (reason !== 'ignored_entity') opts.log?.('webhook-refused', { connector: opts.connector, reason, ...fields });
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Authenticate before reading the body: an unauthenticated sender gets nothing parsed.
  app.use((req, res, next) => {
    if (req.method !== 'POST') {
      refuse('method', { method: req.method });
      res.set('Allow', 'POST').status(405).json({ error: 'method not allowed' });
      return;
    }
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.get('authorization') ?? '');
    const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    // Digests have one length, so the comparison takes the same time whatever was sent.
    if (!timingSafeEqual(digest(given), expected) || !m) {
      refuse('credentials');
      res.set('WWW-Authenticate', 'Basic realm="pipedrive-cdc webhooks"').status(401).json({ error: 'unauthorized' });
      return;
    }
    next();
  });
  app.use(express.json({ limit: '1mb', type: () => true }));
  app.use((req, res) => {
    const parsed = webhookBody.safeParse(req.body);
    if (!parsed.success) {
      refuse('malformed', { problem: parsed.error.issues[0]?.path.join('.') });
      res.status(400).json({ error: 'not a Pipedrive webhooks v2 body' });
      return;
    }
    const { meta } = parsed.data;
    if (!opts.knownWebhookIds().has(meta.webhook_id)) {
      refuse('unknown_webhook', { webhookId: meta.webhook_id });
      res.status(401).json({ error: 'unknown webhook' });
      return;
    }
    const table = ENTITY_TABLES[meta.entity];
    if (table === undefined || !catalog.has(table)) {
      refuse('ignored_entity', { entity: meta.entity });
      res.status(200).json({ ok: true });
      return;
    }
    const ts = meta.timestamp === undefined ? Number.NaN : Date.parse(meta.timestamp);
    const hint: WebhookHint = {
      table, id: meta.entity_id, action: meta.action, webhookId: meta.webhook_id,
      changedAtMs: Number.isFinite(ts) ? ts : undefined, receivedAtMs: (opts.now ?? Date.now)(),
    };
    opts.metrics?.webhooksReceived.inc({ connector: opts.connector, table, action: meta.action });
    // Answer first: Pipedrive times out after 10 s and retries; what the hint triggers is not its business.
    res.status(200).json({ ok: true });
    try {
      opts.onHint(hint);
    } catch (err) {
      opts.log?.('webhook-hint-failed', { connector: opts.connector, table, error: err instanceof Error ? err.message : String(err) });
    }
  });
  const badJson: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const e = err as { type?: string };
    refuse('malformed', { problem: e.type ?? 'body' });
    res.status(e.type === 'entity.too.large' ? 413 : 400).json({ error: 'not a Pipedrive webhooks v2 body' });
  };
  app.use(badJson);
  return app;
}

/** Listen on `port` (0: any free one) and `host` (default all interfaces); WEBHOOK_PORT names a port in use. */
export async function startWebhookReceiver(opts: WebhookReceiverOptions & { port: number; host?: string }): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const host = opts.host ?? '0.0.0.0';
  const server: Server = createServer(webhookApp(opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use by another process' : err.code === 'EACCES' ? 'needs privileges this process lacks' : `cannot be used (${err.message})`;
      reject(new ListenError(`WEBHOOK_PORT: port ${opts.port} on ${host} ${why}; set WEBHOOK_PORT to a free port (0 picks one)`));
    });
    server.listen(opts.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      // Pipedrive (and the simulator) keep connections alive; they must not hold the shutdown open.
      server.closeAllConnections();
    }),
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
