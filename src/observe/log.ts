/**
 * Structured log lines (one JSON object per line on stdout, errors on stderr). Tests read some of them
 * (e.g. the sink's committed offset ranges), so event names are stable. Never log tokens or secrets.
 */
export type Logger = (event: string, fields?: Record<string, unknown>) => void;

/** A logger writing JSON lines; `base` fields (e.g. the connector of a process running several) go on every line. */
export function jsonLogger(component: string, base: Record<string, unknown> = {}): Logger {
  return (event, fields = {}) => {
    const line = JSON.stringify({ ts: new Date().toISOString(), component, ...base, event, ...fields });
    if (event.endsWith('error') || event.endsWith('failed')) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  };
}

export const silentLogger: Logger = () => undefined;

/**
 * Kafka client messages that are noise, not news: errors the client retries by itself on a fresh or busy
 * broker, and its warning about bounded retries — deliberate here: a transaction that fails is aborted and
 * the producer reconnected with a new epoch (src/producer.ts), so no idempotent sequence is ever reused.
 */
const RETRIED = /coordinator is loading|coordinator is not available|concurrent operation on the same transaction|not the leader|leader not available|Limiting retries for the idempotent producer/i;

/**
 * A log creator in the shape kafkajs takes (`logCreator`): its warnings and errors as our JSON lines on
 * stderr, minus the ones it retries by itself. Written without importing kafkajs (see eslint.config.js).
 */
export function kafkaLogCreator(component: string): () => (entry: { level: number; log: { message: string; [k: string]: unknown } }) => void {
  return () => ({ level, log }) => {
    if (level > 2 || RETRIED.test(log.message) || RETRIED.test(String(log.error ?? ''))) return; // 1 error, 2 warn
    process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), component, event: level === 1 ? 'kafka-error' : 'kafka-warning', message: log.message, error: log.error })}\n`);
  };
}
