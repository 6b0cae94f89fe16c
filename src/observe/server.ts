import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

/** The metrics port cannot be listened on (in use, or not allowed): a setting to change, not a crash. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/**
 * Serves /metrics (Prometheus text) and /healthz. Port 0 picks a free port. `setting` names the variable
 * that chose the port, for the message when it cannot be used. Plain node:http, not express: two routes do
 * not need it, and the producer would load it (80 ms) before its first poll for nothing.
 */
export async function startMetricsServer(metrics: Metrics, port: number, host = '0.0.0.0', setting = 'METRICS_PORT'): Promise<{ url: string; close(): Promise<void> }> {
  const send = (res: Parameters<RequestListener>[1], status: number, type: string, body: string, head: boolean) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(head ? undefined : body);
  };
  return listen(
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const head = req.method === 'HEAD';
      if (req.method !== 'GET' && !head) return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
      if (path === '/healthz') return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok' }), head);
      if (path !== '/metrics') return send(res, 404, 'text/plain; charset=utf-8', 'not found: /metrics and /healthz are served here\n', head);
      metrics.registry.metrics().then(
        (text) => send(res, 200, metrics.registry.contentType, text, head),
        (err: Error) => send(res, 500, 'text/plain; charset=utf-8', `metrics failed: ${err.message}\n`, false),
      );
    },
    port,
    host,
    setting,
  );
}

/** Listens with an app; a port that cannot be used is a ListenError naming `setting`. */
export async function listen(app: RequestListener, port: number, host: string, setting: string): Promise<{ url: string; close(): Promise<void> }> {
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
