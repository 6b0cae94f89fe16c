// A TLS reverse proxy with HTTP basic auth in front of a service, as registries are often run in
// production (and as Confluent Cloud's registry behaves): Debian's nginx binary (package `nginx`, whose
// shared libraries — libssl, pcre2, zlib, libcrypt — Debian's base system has) unpacked into the cache,
// run as one foreground process (no master, no privilege drop) with a generated config and htpasswd
// in its run dir. Every request it serves is a line of its access log, which tests read.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianBinary } from './debian.ts';
import { launch, prepareRun, type LocalService } from './launch.ts';
import { accepts, freePort, waitReady } from './proc.ts';

export interface LocalNginx extends LocalService {
  /** https://127.0.0.1:PORT — append the upstream's path (e.g. /apis/ccompat/v7). */
  url: string;
  port: number;
  /** One line per request: `$remote_user "$request" $status`. */
  accessLog: string;
  cold: boolean;
}

export interface StartNginxOptions {
  /** Where requests go, e.g. http://127.0.0.1:8080 (the request's path is kept). */
  upstream: string;
  /** The server's certificate (PEM, chain) and key. */
  tls: { cert: string; key: string };
  /** Users who may pass; anyone else gets nginx's 401. Empty: nginx checks no credentials itself. */
  users: Array<{ user: string; password: string }>;
  /**
   * Serve only this path prefix (e.g. /hooks/acme), forwarded to the upstream URL's path (the prefix
   * replaced, as a path-routing ingress does); anything else gets nginx's 404. Default: every path, kept.
   */
  pathPrefix?: string;
  /** Hand the client's Authorization header to the upstream (which checks it) instead of dropping it. */
  passAuthorization?: boolean;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

export function ensureNginx(): Promise<{ bin: string; cold: boolean }> {
  return ensureDebianBinary('nginx', 'usr/sbin/nginx');
}

/** An htpasswd line in nginx's salted SHA-1 scheme ({SSHA}, supported since nginx 1.0.3): no htpasswd tool needed. */
export function htpasswdLine(user: string, password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `${user}:{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

export function nginxConfig(o: { runDir: string; port: number; upstream: string; cert: string; key: string; htpasswd?: string; pathPrefix?: string; passAuthorization?: boolean }): string {
  const tmp = (name: string) => join(o.runDir, 'tmp', name);
  const upstream = new URL(o.upstream);
  // With a prefix, proxy_pass carries a URI, so nginx replaces the matched prefix with it.
  const route = o.pathPrefix
    ? { location: `= ${o.pathPrefix.replace(/\/+$/, '')}`, pass: `${upstream.origin}${upstream.pathname}` }
    : { location: '/', pass: upstream.origin };
  const auth = o.htpasswd ? `auth_basic "schema registry";\n      auth_basic_user_file ${o.htpasswd};\n      ` : '';
  const authorization = o.passAuthorization
    ? '# The upstream checks the credentials itself.'
    : '# The upstream needs no credentials of its own: they stop here.\n      proxy_set_header Authorization "";';
  return `daemon off;
master_process off;
worker_processes 1;
pid ${join(o.runDir, 'nginx.pid')};
error_log stderr notice;
events { worker_connections 128; }
http {
  log_format who '$remote_user "$request" $status';
  access_log ${join(o.runDir, 'access.log')} who;
  client_body_temp_path ${tmp('body')};
  proxy_temp_path ${tmp('proxy')};
  fastcgi_temp_path ${tmp('fastcgi')};
  uwsgi_temp_path ${tmp('uwsgi')};
  scgi_temp_path ${tmp('scgi')};
  server {
    listen 127.0.0.1:${o.port} ssl;
    ssl_certificate ${o.cert};
    ssl_certificate_key ${o.key};
    location ${route.location} {
      ${auth}proxy_pass ${route.pass};
      ${authorization}
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

export async function startNginx(opts: StartNginxOptions): Promise<LocalNginx> {
  const { bin, cold } = await ensureNginx();
  const runDir = await prepareRun('nginx', opts.log);
  mkdirSync(join(runDir, 'tmp'));
  const htpasswd = opts.users.length > 0 ? join(runDir, 'htpasswd') : undefined;
  if (htpasswd) writeFileSync(htpasswd, `${opts.users.map((u) => htpasswdLine(u.user, u.password)).join('\n')}\n`, { mode: 0o600 });
  const port = await freePort();
  const config = join(runDir, 'nginx.conf');
  writeFileSync(config, nginxConfig({ runDir, port, upstream: opts.upstream, cert: opts.tls.cert, key: opts.tls.key, htpasswd, pathPrefix: opts.pathPrefix, passAuthorization: opts.passAuthorization }));
  // -e: the log before the config is read (the compiled-in one is under /var/log); -p: no paths outside the run dir.
  const svc = launch({ service: 'nginx', runDir, cmd: bin, args: ['-p', runDir, '-e', 'stderr', '-c', config], marker: config });
  try {
    await waitReady('nginx', () => accepts(port), { timeoutMs: opts.readyTimeoutMs ?? 10_000, pid: svc.pid, logFile: svc.logFile, intervalMs: 50 });
  } catch (e) {
    await svc.stop();
    throw e;
  }
  return Object.assign(svc, { url: `https://127.0.0.1:${port}`, port, accessLog: join(runDir, 'access.log'), cold });
}
