import { Kafka, logLevel } from 'kafkajs';
import { kafkaLogCreator } from '../observe/log.ts';

/** Where the brokers are and how to reach them; shared by the producer, the sink and every reader. */
export interface KafkaConnection {
  readonly brokers: readonly string[];
}

/**
 * A kafkajs client for one component. kafkajs retries a request a few times by itself (about 10 s);
 * longer outages surface as errors our callers wait out (src/retry.ts), so no call hangs for minutes.
 */
export function createKafka(conn: KafkaConnection, clientId: string, component: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [...conn.brokers],
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(component),
  });
}
