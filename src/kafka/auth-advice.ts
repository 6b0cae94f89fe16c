/**
 * What to do about a connection the brokers refused (kind `auth` in errors.ts), from the most telling
 * error in the cause chain: SASL credentials, a missing ACL, or which side of the TLS handshake failed.
 * Each names the settings to check; none quotes a credential.
 */

interface Clue {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
}

const ADVICE: ReadonlyArray<[test: (c: Clue) => boolean, advice: string]> = [
  [
    (c) => c.name === 'KafkaJSSASLAuthenticationError' || c.type === 'SASL_AUTHENTICATION_FAILED' || /SASL .*authentication failed|Authentication failed/i.test(str(c.message)),
    'authentication failed: the brokers refused the SASL credentials; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or their _FILE variants) and that KAFKA_SASL_MECHANISM is the one the credentials were created for',
  ],
  [
    (c) => c.type === 'UNSUPPORTED_SASL_MECHANISM' || c.type === 'ILLEGAL_SASL_STATE',
    "authentication failed: this listener does not offer KAFKA_SASL_MECHANISM; use one the brokers' sasl.enabled.mechanisms lists, and check KAFKA_SECURITY_PROTOCOL and the port in KAFKA_BROKERS",
  ],
  [
    (c) => /_AUTHORIZATION_FAILED$/.test(str(c.type)),
    'not authorized: the brokers accepted the credentials but an ACL denies this (the message names the resource); grant the principal of KAFKA_SASL_USERNAME or of the client certificate access to the topics, the consumer group and the transactional id',
  ],
  [
    (c) => str(c.code) === 'ERR_TLS_CERT_ALTNAME_INVALID',
    "TLS: the broker's certificate does not name the host connected to; use the host names the certificates were issued for in KAFKA_BROKERS (and the brokers' advertised.listeners)",
  ],
  [(c) => /CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(str(c.code)), "TLS: the broker's certificate is outside its validity period"],
  [
    (c) => /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE/.test(str(c.code)),
    "TLS: the broker's certificate is not trusted; set KAFKA_SSL_CA_FILE to the CA certificate (PEM) that signed it (without it, only the public CAs bundled with Node.js are trusted)",
  ],
  [
    (c) => /CERTIFICATE_REQUIRED/.test(str(c.code)) || /certificate required/i.test(str(c.message)),
    'TLS: the broker requires a client certificate (mTLS); set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
  ],
  [
    (c) => /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED)/.test(str(c.code)),
    "TLS: the broker refused the client certificate: it requires one (mTLS) signed by a CA in its truststore; set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE to such a certificate and its key",
  ],
  [
    (c) => /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(str(c.code)) || /wrong version number/i.test(str(c.message)),
    'TLS: the broker at this port does not speak TLS; check KAFKA_SECURITY_PROTOCOL (PLAINTEXT or SASL_PLAINTEXT for a plain listener) and the port in KAFKA_BROKERS',
  ],
  [(c) => /^ERR_SSL|^ERR_TLS/.test(str(c.code)), 'TLS: the handshake with the broker failed; check KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE'],
];

const GENERIC = 'the brokers refused the connection or the credentials/permissions; check the KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_* settings and the ACLs';

/** The advice for the first error in the chain (cause, originalError, errors[]) that one of the rules explains. */
export function authAdvice(err: unknown): string {
  const seen: Clue[] = [];
  const walk = (e: unknown, depth: number) => {
    if (!e || typeof e !== 'object' || depth > 8 || seen.includes(e as Clue)) return;
    seen.push(e as Clue);
    const o = e as { cause?: unknown; originalError?: unknown; errors?: unknown[] };
    walk(o.cause, depth + 1);
    walk(o.originalError, depth + 1);
    for (const x of Array.isArray(o.errors) ? o.errors : []) walk(x, depth + 1);
  };
  walk(err, 0);
  for (const [test, advice] of ADVICE) if (seen.some(test)) return advice;
  return GENERIC;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
