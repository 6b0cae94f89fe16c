/**
 * The local end of the authorization step: a one-shot HTTP server the browser is redirected to with
 * `?code=…&state=…`. The state must be the one this run generated (constant-time compare): a callback
 * with another state — a stale tab, a forged link — is answered 400 and ignored, and the wait goes on.
 * A denial (`?error=…`) ends the wait with an error. Nothing received is logged.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PipedriveAuthError } from './errors.ts';

export interface CallbackOptions {
  readonly host: string;
  /** 0 picks a free port (the redirect URI then has to be built from `port`). */
  readonly port: number;
  /** The redirect URI's path, e.g. /callback. */
  readonly path: string;
  readonly state: string;
  readonly timeoutMs: number;
  /** A request that was not the awaited callback (wrong state, no code): why, for the terminal. */
  readonly onIgnored?: (why: string) => void;
}

export interface CallbackListener {
  readonly port: number;
  /** The authorization code, once the right callback arrived. */
  readonly code: Promise<string>;
  close(): Promise<void>;
}

/** Thrown when the port cannot be listened on (in use, not allowed): a usage problem, not an outage. */
export class CallbackListenError extends Error {
  override name = 'CallbackListenError';
}

export async function listenForCallback(o: CallbackOptions): Promise<CallbackListener> {
  let settle!: { resolve: (code: string) => void; reject: (e: Error) => void };
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  code.catch(() => undefined);
  let done = false;
  const finish = (err: Error | undefined, value?: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (err) settle.reject(err);
    else settle.resolve(value!);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://callback.invalid');
    const reply = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
      res.end(`<!doctype html><html><head><meta charset="utf-8"><title>pipedrive-cdc</title></head><body><p>${escapeHtml(text)}</p></body></html>\n`);
    };
    if (req.method !== 'GET' || url.pathname !== o.path) return reply(404, 'Not the OAuth callback.');
    if (done) return reply(410, 'This authorization is already finished; you can close this tab.');
    const state = url.searchParams.get('state') ?? '';
    if (!sameSecret(state, o.state)) {
      o.onIgnored?.('a callback whose state is not the one this run sent (a stale tab or a forged link)');
      return reply(400, 'This callback does not belong to the authorization pipedrive-cdc is waiting for (state mismatch); it was ignored.');
    }
    const error = url.searchParams.get('error');
    if (error) {
      reply(400, 'The authorization was not granted; see the terminal.');
      return finish(new PipedriveAuthError(`Pipedrive did not grant access (${error.slice(0, 80)}); run \`pipedrive-cdc auth\` again and choose "Allow and install"`));
    }
    const got = url.searchParams.get('code');
    if (!got) {
      o.onIgnored?.('a callback without a code');
      return reply(400, 'The callback carries no authorization code.');
    }
    reply(200, 'pipedrive-cdc is authorized. You can close this tab.');
    finish(undefined, got);
  });
  const timer = setTimeout(
    () => finish(new PipedriveAuthError(`no authorization arrived within ${Math.round(o.timeoutMs / 1000)} s; run \`pipedrive-cdc auth\` again (and open the URL it prints)`)),
    o.timeoutMs,
  );
  timer.unref();

  await listen(server, o.host, o.port).catch((err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    const why = err.code === 'EADDRINUSE' ? 'is in use by another process' : `cannot be listened on (${err.code ?? err.message})`;
    throw new CallbackListenError(`--port ${o.port} on ${o.host} ${why}; pass a free port with --port and register http://127.0.0.1:<port>${o.path} as the app's callback URL`);
  });
  return {
    port: (server.address() as AddressInfo).port,
    code,
    close: () =>
      new Promise<void>((resolve) => {
        finish(new Error('closed'));
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
