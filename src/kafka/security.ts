/**
 * How a client proves itself to the brokers and checks them: Kafka's four security protocols, SASL
 * (PLAIN, SCRAM) and TLS with a private CA and an optional client certificate (mTLS). The settings are
 * typed here and turned into kafkajs' `ssl` and `sasl` options; config.ts reads and checks them.
 */
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** A PEM file read at start, with its path for messages. */
export interface PemFile {
  readonly path: string;
  readonly pem: string;
}

export interface KafkaSecurity {
  readonly protocol: SecurityProtocol;
  /** With SASL_PLAINTEXT and SASL_SSL. */
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  /** With SSL and SASL_SSL: the CA replacing the system's trust store, and the client certificate for mTLS. */
  readonly tls?: { readonly ca?: PemFile; readonly cert?: PemFile; readonly key?: PemFile };
}

export const PLAINTEXT: KafkaSecurity = { protocol: 'PLAINTEXT' };

export const usesTls = (p: SecurityProtocol) => p === 'SSL' || p === 'SASL_SSL';
export const usesSasl = (p: SecurityProtocol) => p === 'SASL_PLAINTEXT' || p === 'SASL_SSL';

/** kafkajs' client options for these settings (none for PLAINTEXT). */
export function kafkajsSecurity(s: KafkaSecurity): { ssl?: ConnectionOptions | boolean; sasl?: SASLOptions } {
  const out: { ssl?: ConnectionOptions | boolean; sasl?: SASLOptions } = {};
  if (usesTls(s.protocol)) {
    const t = s.tls ?? {};
    // Node verifies the chain and the host name by default; `ca` replaces its bundled CAs, as a truststore does in Java.
    out.ssl = t.ca || t.cert ? { rejectUnauthorized: true, ...(t.ca ? { ca: [t.ca.pem] } : {}), ...(t.cert && t.key ? { cert: t.cert.pem, key: t.key.pem } : {}) } : true;
  }
  if (usesSasl(s.protocol) && s.sasl) {
    const { username, password } = s.sasl;
    const mechanism = s.sasl.mechanism;
    out.sasl =
      mechanism === 'PLAIN' ? { mechanism: 'plain', username, password } : mechanism === 'SCRAM-SHA-256' ? { mechanism: 'scram-sha-256', username, password } : { mechanism: 'scram-sha-512', username, password };
  }
  return out;
}

/** The settings without their secrets, for the `starting` line. */
export function describeKafkaSecurity(s: KafkaSecurity): Record<string, unknown> {
  return {
    protocol: s.protocol,
    ...(s.sasl ? { sasl: { mechanism: s.sasl.mechanism, username: s.sasl.username } } : {}),
    ...(s.tls && (s.tls.ca || s.tls.cert) ? { tls: { ...(s.tls.ca ? { caFile: s.tls.ca.path } : {}), ...(s.tls.cert ? { certFile: s.tls.cert.path } : {}), ...(s.tls.key ? { keyFile: s.tls.key.path } : {}) } } : {}),
  };
}
