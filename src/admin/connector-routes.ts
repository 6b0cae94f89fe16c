/**
 * The admin API's connector endpoints (spec/admin-api.yaml): create a connector with an API token
 * (started at once) or an OAuth app (answered with the authorize URL), authorize again, delete; and the
 * OAuth callback the browser is sent back to. The callback is the one endpoint without a bearer token —
 * a browser cannot send one — so it is mounted before the token check and accepts nothing but a state
 * the supervisor handed out (one-time, expiring). No answer ever holds a secret.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { ConnectorRequestError, type Connectors } from '../connectors.ts';
import { KafkaError } from '../kafka/errors.ts';
import { parseCreateConnector } from './connector-request.ts';

export const OAUTH_CALLBACK_PATH = '/v1/oauth/callback';

export type ConnectorAdmin = Pick<Connectors, 'create' | 'authorize' | 'completeAuthorization' | 'remove'>;

/** The callback on this server, as the browser reached the admin API (PIPEDRIVE app's callback URL). */
function callbackUrl(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? '127.0.0.1'}${OAUTH_CALLBACK_PATH}`;
}

/** The token holder the bearer check found (server.ts), for the audit lines. */
function holder(res: Response): string | undefined {
  return typeof res.locals.tokenHolder === 'string' ? res.locals.tokenHolder : undefined;
}

function fail(res: Response, err: unknown): void {
  if (err instanceof ConnectorRequestError) {
    res.status(err.status).json({ error: err.code, message: err.message });
    return;
  }
  // The connectors topic could not be written: nothing was changed, the request can be repeated.
  if (err instanceof KafkaError) {
    res.status(503).json({ error: 'unavailable', message: `Kafka did not take the change (${err.message}); nothing was changed, try again` });
    return;
  }
  res.status(500).json({ error: 'internal', message: `the request failed: ${(err as Error).message}` });
}

/** Mounted before the bearer-token check. */
export function oauthCallbackRoutes(connectors: ConnectorAdmin): Router {
  const router = express.Router();
  router.get(OAUTH_CALLBACK_PATH, async (req, res) => {
    const one = (k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string) : undefined);
    try {
      const { connector, status } = await connectors.completeAuthorization({ state: one('state'), code: one('code'), error: one('error') });
      res.json({ connector, state: status.state, message: `connector ${connector} is authorized and starting; you can close this page` });
    } catch (err) {
      fail(res, err);
    }
  });
  return router;
}

/** Mounted after the bearer-token check (a read-only token never gets here for these methods). */
export function connectorRoutes(connectors: ConnectorAdmin): Router {
  const router = express.Router();
  router.use('/v1/connectors', express.json({ limit: '256kb' }));
  router.post('/v1/connectors', async (req, res) => {
    const parsed = parseCreateConnector(req.body);
    if (!parsed.ok) {
      res.status(400).json({ error: 'bad-request', message: parsed.message });
      return;
    }
    try {
      const created = await connectors.create(parsed.value, callbackUrl(req), holder(res));
      if (created.kind === 'started') {
        const { tables, ...summary } = created.status;
        res.status(201).location(`/v1/connectors/${encodeURIComponent(created.status.name)}`).json({ ...summary, tables: tables.map(({ columns: _c, ...t }) => t) });
      } else {
        res.status(202).location(`/v1/connectors/${encodeURIComponent(created.name)}`).json({ connector: created.name, authorizeUrl: created.authorizeUrl, state: created.state, expiresAt: created.expiresAt });
      }
    } catch (err) {
      fail(res, err);
    }
  });
  router.post('/v1/connectors/:connector/authorize', async (req, res) => {
    try {
      const created = await connectors.authorize(String(req.params.connector), callbackUrl(req), holder(res));
      if (created.kind === 'authorize') res.status(202).json({ connector: created.name, authorizeUrl: created.authorizeUrl, state: created.state, expiresAt: created.expiresAt });
    } catch (err) {
      fail(res, err);
    }
  });
  router.delete('/v1/connectors/:connector', async (req, res) => {
    const name = String(req.params.connector);
    try {
      await connectors.remove(name, holder(res));
      res.json({ name, deleted: true, message: `connector ${name} stopped and removed; its topics and their data are kept` });
    } catch (err) {
      fail(res, err);
    }
  });
  // A body that is not JSON (express.json's SyntaxError) is the client's mistake, said as such.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if ((err as { type?: string }).type === 'entity.parse.failed') res.status(400).json({ error: 'bad-request', message: 'the body is not valid JSON' });
    else if ((err as { type?: string }).type === 'entity.too.large') res.status(400).json({ error: 'bad-request', message: 'the body is too large (256 kB at most)' });
    else next(err);
  });
  return router;
}
