import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { asKafkaError, classifyKafkaError } from '../../src/kafka/errors.ts';

/**
 * The errors kafkajs 2.2.4 actually throws for refused credentials and failed TLS handshakes (the
 * integration test kafka-security.test.ts meets them on a real broker), classified as `auth`: not an
 * outage, so the producer and the sink stop at once saying which settings to check.
 */
const afterRetries = (e: Error) => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 5, retryTime: 4800 });
const tlsError = (code: string, message: string) => new KafkaJSConnectionError(`Connection error: ${message}`, { broker: '127.0.0.1:9093', code });

describe('Kafka failures that waiting does not fix', () => {
  it('a wrong SCRAM password: auth, naming the SASL settings', () => {
    // kafkajs' type declarations omit the constructor's message.
    const e = new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512');
    expect(classifyKafkaError(e)).toBe('auth');
    const k = asKafkaError(e, 'connecting to 127.0.0.1:9093');
    expect(k.retriable).toBe(false);
    expect(k.message).toMatch(/^Kafka: connecting to 127\.0\.0\.1:9093 failed: SASL SCRAM SHA512 authentication failed: .* — authentication failed: the brokers refused the SASL credentials; check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
  });

  it.each([
    ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', "TLS: the broker's certificate is not trusted; set KAFKA_SSL_CA_FILE"],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate', "TLS: the broker's certificate is not trusted; set KAFKA_SSL_CA_FILE"],
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames", "TLS: the broker's certificate does not name the host"],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'error:0A00045C:SSL routines::tlsv13 alert certificate required', 'TLS: the broker requires a client certificate (mTLS); set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE'],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'error:0A000412:SSL routines::sslv3 alert bad certificate', 'TLS: the broker refused the client certificate: it requires one (mTLS) signed by a CA in its truststore; set KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'error:0A00010B:SSL routines::wrong version number', 'TLS: the broker at this port does not speak TLS; check KAFKA_SECURITY_PROTOCOL'],
  ])('a TLS failure (%s), also after kafkajs retried it: auth, saying what to set', (code, message, advice) => {
    for (const e of [tlsError(code, message), afterRetries(tlsError(code, message))]) {
      expect(classifyKafkaError(e)).toBe('auth');
      const k = asKafkaError(e, 'connecting the admin client');
      expect(k.retriable).toBe(false);
      expect(k.message).toContain(advice);
    }
  });

  it("OpenSSL's message is shortened to its reason, on one line", () => {
    const e = tlsError('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', '80BCE702CD7F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n');
    expect(asKafkaError(e, 'connecting').message).toMatch(/^Kafka: connecting failed: Connection error: sslv3 alert bad certificate — TLS: /);
  });

  it('an ACL denial: auth, saying an ACL denies it', () => {
    const e = new KafkaJSProtocolError(Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), { type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false }));
    expect(asKafkaError(e, 'creating topics').message).toContain('not authorized: the brokers accepted the credentials but an ACL denies this');
  });

  it('a broker that is down or restarting stays transient', () => {
    for (const e of [
      new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9093', { broker: '127.0.0.1:9093', code: 'ECONNREFUSED' }),
      afterRetries(new KafkaJSConnectionError('Connection error: Client network socket disconnected before secure TLS connection was established', { code: 'ECONNRESET' })),
      new KafkaJSConnectionError('Connection timeout'),
    ]) {
      expect(classifyKafkaError(e), e.message).toBe('transient');
      expect(asKafkaError(e, 'x').retriable).toBe(true);
    }
  });
});
