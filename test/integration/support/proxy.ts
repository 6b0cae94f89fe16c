import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a service, for outage tests: `forward` passes connections through, `blackhole`
 * accepts them and never answers (a dropped network path: clients see timeouts, not refusals).
 */
export interface Proxy {
  readonly port: number;
  mode: 'forward' | 'blackhole';
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }, mode: Proxy['mode'] = 'forward'): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const proxy = { mode } as Proxy & { port: number };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (proxy.mode === 'blackhole') return;
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as { port: number }).port;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
