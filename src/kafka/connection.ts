import { Kafka, logLevel } from 'kafkajs';
import { kafkaLogCreator } from '../observe/log.ts';
import { PLAINTEXT, kafkajsSecurity, usesTls, type KafkaSecurity } from './security.ts';
import { checkTls } from './tls-check.ts';

/** Where the brokers are and how to reach them; shared by the producer, the sink and every reader. */
export interface KafkaConnection {
  readonly brokers: readonly string[];
  /** TLS and SASL (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*); PLAINTEXT when absent. */
  readonly security?: KafkaSecurity;
}

/**
 * A kafkajs client for one component. kafkajs retries a request a few times by itself (about 10 s);
 * longer outages surface as errors our callers wait out (src/retry.ts), so no call hangs for minutes.
 * Refused credentials and untrusted certificates are not outages: kafka/errors.ts classifies them as
 * `auth`, and the process stops saying which settings to check.
 */
export function createKafka(conn: KafkaConnection, clientId: string, component: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [...conn.brokers],
    ...kafkajsSecurity(conn.security ?? PLAINTEXT),
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(component),
  });
}

/**
 * Before a component's first connect: with TLS, one handshake with the first broker, so an untrusted
 * certificate or a refused client certificate stops the process at once instead of after kafkajs'
 * retries (tls-check.ts). Nothing for PLAINTEXT.
 */
export async function checkConnection(conn: KafkaConnection): Promise<void> {
  const security = conn.security ?? PLAINTEXT;
  if (usesTls(security.protocol) && conn.brokers[0]) await checkTls(conn.brokers[0], security);
}
