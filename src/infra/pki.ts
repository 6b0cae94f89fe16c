// A throwaway certificate authority for tests of TLS to Kafka and the registry: made with the system's
// openssl into a directory the caller owns (a temp dir), valid for two days, never committed. RSA keys in
// PKCS#8 PEM (what `openssl req -nodes` writes), which Kafka's PEM keystores and Node.js both read.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk, which } from './proc.ts';

export interface KeyPair {
  /** PEM certificate file. */
  cert: string;
  /** PEM private key file (unencrypted PKCS#8). */
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signed `server` and `client`. */
  ca: KeyPair;
  /** For 127.0.0.1 and localhost (SANs), server and client auth. */
  server: KeyPair;
  /** A client certificate (mTLS), CN=`clientName`. */
  client: KeyPair;
  /** Key and certificate of `server` in one file, as Kafka's PEM keystore wants them. */
  serverKeystore: string;
  /** A second CA nothing trusts, and a client certificate it signed: the "untrusted" cases. */
  otherCa: KeyPair;
  strangerClient: KeyPair;
}

export async function makeTestPki(dir: string, opts: { clientName?: string } = {}): Promise<TestPki> {
  if (!which('openssl')) throw new Error('The TLS tests need openssl (apt-get install -y openssl) to make their certificates');
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const ca = await authority(f, 'ca', 'pipedrive-cdc test CA');
  const otherCa = await authority(f, 'other-ca', 'some other CA');
  const server = await leaf(f, 'server', ca, '/CN=localhost', ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth,clientAuth']);
  const client = await leaf(f, 'client', ca, `/CN=${opts.clientName ?? 'pipedrive-cdc'}`, ['extendedKeyUsage=clientAuth']);
  const strangerClient = await leaf(f, 'stranger', otherCa, '/CN=stranger', ['extendedKeyUsage=clientAuth']);
  const serverKeystore = f('server-keystore.pem');
  writeFileSync(serverKeystore, readFileSync(server.key, 'utf8') + readFileSync(server.cert, 'utf8'), { mode: 0o600 });
  return { dir, ca, server, client, serverKeystore, otherCa, strangerClient };
}

async function authority(f: (n: string) => string, name: string, cn: string): Promise<KeyPair> {
  const pair = { cert: f(`${name}.pem`), key: f(`${name}.key`) };
  await runOk('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pair.key, '-out', pair.cert, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair;
}

async function leaf(f: (n: string) => string, name: string, issuer: KeyPair, subject: string, extensions: string[]): Promise<KeyPair> {
  const pair = { cert: f(`${name}.pem`), key: f(`${name}.key`) };
  const csr = f(`${name}.csr`);
  const ext = f(`${name}.ext`);
  writeFileSync(ext, `${['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', ...extensions].join('\n')}\n`);
  await runOk('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', pair.key, '-out', csr, '-subj', subject]);
  await runOk('openssl', ['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial', '-out', pair.cert, '-days', '2', '-extfile', ext]);
  return pair;
}
