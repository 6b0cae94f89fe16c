/**
 * KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_*: read, checked against each other, and the PEM
 * files read and parsed at start — a setting that cannot work (a mechanism without SASL, a certificate
 * without its key, a file that is not PEM) is a ConfigError naming it before anything connects.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { ConfigError, readSettingFile, secret, type Env } from './config-env.ts';
import { SASL_MECHANISMS, SECURITY_PROTOCOLS, usesSasl, usesTls, type KafkaSecurity, type PemFile, type SaslMechanism, type SecurityProtocol } from './kafka/security.ts';

export function loadKafkaSecurity(env: Env): KafkaSecurity {
  const protocol = securityProtocol(env);
  const mechanism = env['KAFKA_SASL_MECHANISM']?.trim() || undefined;
  const username = secret(env, 'KAFKA_SASL_USERNAME');
  const password = secret(env, 'KAFKA_SASL_PASSWORD');
  const files = { ca: env['KAFKA_SSL_CA_FILE'] || undefined, cert: env['KAFKA_SSL_CERT_FILE'] || undefined, key: env['KAFKA_SSL_KEY_FILE'] || undefined };

  let sasl: KafkaSecurity['sasl'];
  if (usesSasl(protocol)) {
    if (!mechanism) throw new ConfigError(`KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL=${protocol}; one of ${SASL_MECHANISMS.join(', ')} (Confluent Cloud: PLAIN, Amazon MSK: SCRAM-SHA-512)`);
    if (!username) throw new ConfigError(`KAFKA_SASL_USERNAME: required with KAFKA_SECURITY_PROTOCOL=${protocol} (or KAFKA_SASL_USERNAME_FILE naming a file that holds it)`);
    if (!password) throw new ConfigError(`KAFKA_SASL_PASSWORD: required with KAFKA_SECURITY_PROTOCOL=${protocol} (or KAFKA_SASL_PASSWORD_FILE naming a file that holds it)`);
    sasl = { mechanism: saslMechanism(mechanism), username, password };
  } else {
    const set = [mechanism && 'KAFKA_SASL_MECHANISM', username && 'KAFKA_SASL_USERNAME', password && 'KAFKA_SASL_PASSWORD'].filter(Boolean);
    if (set.length > 0) {
      throw new ConfigError(`${set[0]}: set, but KAFKA_SECURITY_PROTOCOL is ${protocol}, which does not authenticate with SASL; use SASL_SSL (or SASL_PLAINTEXT), or unset ${set.join(', ')}`);
    }
  }

  let tls: KafkaSecurity['tls'];
  if (usesTls(protocol)) {
    if (files.cert && !files.key) throw new ConfigError('KAFKA_SSL_CERT_FILE: set without KAFKA_SSL_KEY_FILE; a client certificate (mTLS) needs its private key too');
    if (files.key && !files.cert) throw new ConfigError('KAFKA_SSL_KEY_FILE: set without KAFKA_SSL_CERT_FILE; a client key (mTLS) needs its certificate too');
    const ca = files.ca ? certificates('KAFKA_SSL_CA_FILE', files.ca) : undefined;
    const cert = files.cert ? certificates('KAFKA_SSL_CERT_FILE', files.cert) : undefined;
    const key = files.key ? privateKey('KAFKA_SSL_KEY_FILE', files.key) : undefined;
    if (cert && key && !cert.x509.checkPrivateKey(key.object)) {
      throw new ConfigError(`KAFKA_SSL_KEY_FILE: ${key.file.path} is not the private key of the certificate in KAFKA_SSL_CERT_FILE (${cert.file.path})`);
    }
    tls = { ca: ca?.file, cert: cert?.file, key: key?.file };
  } else {
    const set = Object.entries(files).find(([, v]) => v)?.[0];
    if (set) throw new ConfigError(`KAFKA_SSL_${set.toUpperCase()}_FILE: set, but KAFKA_SECURITY_PROTOCOL is ${protocol}, which does not use TLS; use SSL or SASL_SSL, or unset it`);
  }
  return { protocol, ...(sasl ? { sasl } : {}), ...(tls ? { tls } : {}) };
}

function securityProtocol(env: Env): SecurityProtocol {
  const v = env['KAFKA_SECURITY_PROTOCOL']?.trim();
  if (!v) return 'PLAINTEXT';
  const p = v.toUpperCase();
  if (!(SECURITY_PROTOCOLS as readonly string[]).includes(p)) throw new ConfigError(`KAFKA_SECURITY_PROTOCOL: "${v}" is not one of ${SECURITY_PROTOCOLS.join(', ')}`);
  return p as SecurityProtocol;
}

function saslMechanism(v: string): SaslMechanism {
  const m = v.toUpperCase();
  if (!(SASL_MECHANISMS as readonly string[]).includes(m)) {
    const hint = /GSSAPI|OAUTHBEARER|AWS_MSK_IAM/.test(m) ? ' (not supported; use SCRAM or mTLS)' : '';
    throw new ConfigError(`KAFKA_SASL_MECHANISM: "${v}" is not one of ${SASL_MECHANISMS.join(', ')}${hint}`);
  }
  return m as SaslMechanism;
}

/** A PEM file of one or more certificates; the first one is returned parsed (the leaf of a chain). */
export function certificates(key: string, path: string): { file: PemFile; x509: X509Certificate } {
  const pem = readSettingFile(key, path);
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new ConfigError(`${key}: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----); convert a JKS or PKCS#12 store with keytool or openssl`);
  try {
    return { file: { path, pem }, x509: new X509Certificate(pem) };
  } catch (err) {
    throw new ConfigError(`${key}: ${path} is not a valid PEM certificate (${(err as Error).message})`);
  }
}

function privateKey(key: string, path: string): { file: PemFile; object: KeyObject } {
  const pem = readSettingFile(key, path);
  if (/ENCRYPTED/.test(pem)) throw new ConfigError(`${key}: ${path} is an encrypted private key; decrypt it (openssl pkey -in ${path} -out client.key) and protect the file's permissions instead`);
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new ConfigError(`${key}: ${path} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  try {
    return { file: { path, pem }, object: createPrivateKey(pem) };
  } catch (err) {
    // The parser's message never quotes the key.
    throw new ConfigError(`${key}: ${path} is not a valid PEM private key (${(err as Error).message})`);
  }
}
