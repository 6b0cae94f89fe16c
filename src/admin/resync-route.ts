/**
 * `POST /v1/connectors/{connector}/resync`: re-sync tables of a running connector (or all of them), as
 * `run --resync` does (src/producer-resync.ts): each table starts over at its next batch boundary, with
 * markers the sink understands. Answers 200 once the re-sync began (its begin transaction committed), or
 * 202 when it is still waiting for that boundary after a few seconds (a long page, a paused table); a table
 * the connector cannot re-sync is refused with 400 and nothing starts. Each request is audited.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { ConnectorSettingsStore } from '../connector-settings.ts';
import type { ResyncResult } from '../producer-resync.ts';
import { TOKEN_NAME } from './settings-routes.ts';

export interface ResyncRouteOptions {
  /** The connector's re-sync (its running producer's `resync`), or undefined when no such connector runs. */
  readonly resync: (connector: string) => ((tables: readonly string[] | 'all') => Promise<ResyncResult>) | undefined;
  readonly settings: (connector: string) => ConnectorSettingsStore | undefined;
  /** How long the answer waits for the re-sync to begin before it says 202 (default 10 s). */
  readonly waitMs?: number;
}

const body = z.object({ tables: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]) }).strict();

/** Refusals of the request itself (src/producer-resync.ts): nothing started. */
const REFUSED = /cannot be re-synced|no table named/;

export function resyncRoute(opts: ResyncRouteOptions): Router {
  const router = express.Router();
  router.use(express.json({ limit: '64kb' }));
  router.post('/v1/connectors/:connector/resync', async (req: Request, res: Response) => {
    const connector = String(req.params.connector);
    const start = opts.resync(connector);
    const store = opts.settings(connector);
    if (!start || !store) {
      res.status(404).json({ error: 'not-found', message: `no running connector named "${connector}"` });
      return;
    }
    const parsed = body.safeParse(req.body ?? {});
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      res.status(400).json({ error: 'bad-request', message: `body ${i.path.map(String).join('.') || '(the object)'}: ${i.message} (e.g. {"tables":["deal"]} or {"tables":"all"})` });
      return;
    }
    const { tables } = parsed.data;
    const begun = start(tables);
    begun.catch(() => undefined);
    const waited = await Promise.race([
      begun.then((r) => ({ r }), (err: Error) => ({ err })),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), opts.waitMs ?? 10_000).unref()),
    ]);
    if (waited && 'err' in waited) {
      const refused = REFUSED.test(waited.err.message);
      res.status(refused ? 400 : 503).json({ error: refused ? 'bad-request' : 'unavailable', message: waited.err.message });
      return;
    }
    const target = tables === 'all' ? 'all' : tables.join(',');
    let change;
    try {
      change = await store.recordAction(String(res.locals[TOKEN_NAME] ?? 'unknown'), 'resync', target);
    } catch (err) {
      // The re-sync runs regardless; only its audit record could not be written.
      res.status(503).json({ error: 'unavailable', message: `the re-sync ${waited ? 'began' : 'was asked for'}, but its audit record could not be written to Kafka (${(err as Error).message})` });
      return;
    }
    if (waited) res.json({ connector, state: 'started', tables: waited.r.tables, generation: waited.r.generation, change });
    else res.status(202).json({ connector, state: 'requested', requested: tables, change });
  });
  return router;
}
