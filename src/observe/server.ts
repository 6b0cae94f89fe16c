import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

/** The metrics port cannot be listened on (in use, or not allowed): a setting to change, not a crash. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/**
 * Serves /metrics (Prometheus text) and /healthz. Port 0 picks a free port. `setting` names the variable
 * that chose the port, for the message when it cannot be used.
 */
export async function startMetricsServer(metrics: Metrics, port: number, host = '0.0.0.0', setting = 'METRICS_PORT'): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  return listen(app, port, host, setting);
}

/** Listens with an app; a port that cannot be used is a ListenError naming `setting`. */
export async function listen(app: express.Express, port: number, host: string, setting: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is in use by another process' : err.code === 'EACCES' ? 'needs privileges this process lacks' : `cannot be used (${err.message})`;
      reject(new ListenError(`${setting}: port ${port} on ${host} ${why}; set ${setting} to a free port (0 picks one)`));
    });
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
