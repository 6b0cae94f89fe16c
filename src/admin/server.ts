/**
 * The admin REST API in the producer process: the connectors, their tables and columns with sync state;
 * their runtime settings (settings-routes.ts: block, hash, filter, pause, audit) and re-sync (resync-route.ts); creating and deleting
 * connectors and their OAuth authorization (connector-routes.ts). Bearer tokens: the admin token
 * (ADMIN_API_TOKEN) and a read-only token (ADMIN_API_READONLY_TOKEN); compared in constant time; anything
 * else is 401, and a read-only token on a method that changes something is 403. The contract is spec/admin-api.yaml (OpenAPI 3.1), which the
 * tests validate every response against.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { listen } from '../observe/server.ts';
import type { ConnectorSettingsStore } from '../connector-settings.ts';
import { connectorRoutes, oauthCallbackRoutes, type ConnectorAdmin } from './connector-routes.ts';
import { resyncRoute, type ResyncRouteOptions } from './resync-route.ts';
import { settingsRoutes, TOKEN_NAME } from './settings-routes.ts';
import type { ConnectorStatus } from './status.ts';

export interface AdminToken {
  /** Who holds it, as audit records and logs name it (never the token). */
  readonly name: string;
  readonly token: string;
  readonly access: 'admin' | 'read-only';
}

export interface AdminApiOptions {
  readonly port: number;
  readonly host?: string;
  readonly tokens: readonly AdminToken[];
  /** The connectors of this process, as they are now. */
  readonly connectors: () => readonly ConnectorStatus[];
  /** Creating and deleting connectors, OAuth authorization (connector-routes.ts); absent: none can be. */
  readonly connectorAdmin?: ConnectorAdmin;
  /** The runtime settings of a connector of this process (none: the settings endpoints answer 404). */
  readonly settings?: (connector: string) => ConnectorSettingsStore | undefined;
  /** A running connector's re-sync (resync-route.ts); absent: the endpoint answers 404. */
  readonly resync?: ResyncRouteOptions['resync'];
}

/** The express app (exported for tests that listen themselves). */
export function adminApp(opts: Pick<AdminApiOptions, 'tokens' | 'connectors' | 'connectorAdmin' | 'settings' | 'resync'>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // The browser's way back from Pipedrive carries no bearer token: checked by its one-time state instead.
  if (opts.connectorAdmin) app.use(oauthCallbackRoutes(opts.connectorAdmin));
  // Digests of equal length, so comparing never depends on where or whether the tokens differ.
  const digests = opts.tokens.map((t) => ({ ...t, digest: createHash('sha256').update(t.token).digest() }));
  app.use((req: Request, res: Response, next: NextFunction) => {
    const presented = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    const digest = createHash('sha256').update(presented ?? '').digest();
    let holder: AdminToken | undefined;
    for (const t of digests) if (timingSafeEqual(t.digest, digest) && presented !== undefined) holder = t;
    if (!holder) {
      res.set('WWW-Authenticate', 'Bearer realm="pipedrive-cdc"').status(401).json({ error: 'unauthorized', message: 'a valid bearer token is required (Authorization: Bearer <ADMIN_API_TOKEN or ADMIN_API_READONLY_TOKEN>)' });
      return;
    }
    if (holder.access === 'read-only' && !['GET', 'HEAD'].includes(req.method)) {
      res.status(403).json({ error: 'forbidden', message: `the token "${holder.name}" is read-only` });
      return;
    }
    // Who asked, for the audit lines of changes (the holder's name, never the token).
    res.locals[TOKEN_NAME] = holder.name;
    next();
  });
  if (opts.connectorAdmin) app.use(connectorRoutes(opts.connectorAdmin));
  const summary = (c: ConnectorStatus) => ({ name: c.name, topicPrefix: c.topicPrefix, state: c.state, schemaChanges: c.schemaChanges, budget: c.budget });
  const find = (req: Request, res: Response): ConnectorStatus | undefined => {
    const c = opts.connectors().find((x) => x.name === req.params.connector);
    if (!c) res.status(404).json({ error: 'not-found', message: `no connector named "${String(req.params.connector)}"` });
    return c;
  };
  app.get('/v1/connectors', (_req, res) => {
    res.json({ connectors: opts.connectors().map(summary) });
  });
  app.get('/v1/connectors/:connector', (req, res) => {
    const c = find(req, res);
    if (c) res.json({ ...summary(c), tables: c.tables.map(({ columns: _columns, ...t }) => t) });
  });
  app.get('/v1/connectors/:connector/tables/:table', (req, res) => {
    const c = find(req, res);
    if (!c) return;
    const t = c.tables.find((x) => x.name === req.params.table);
    if (!t) res.status(404).json({ error: 'not-found', message: `connector ${c.name} has no table "${String(req.params.table)}"` });
    else res.json(t);
  });
  app.use(settingsRoutes({ settings: opts.settings ?? (() => undefined) }));
  app.use(resyncRoute({ resync: opts.resync ?? (() => undefined), settings: opts.settings ?? (() => undefined) }));
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not-found', message: 'no such endpoint (see spec/admin-api.yaml)' });
  });
  return app;
}

/** Serves the admin API; ADMIN_API_PORT names the port in the message when it cannot be used. */
export async function startAdminApi(opts: AdminApiOptions): Promise<{ url: string; close(): Promise<void> }> {
  return listen(adminApp(opts), opts.port, opts.host ?? '0.0.0.0', 'ADMIN_API_PORT');
}
