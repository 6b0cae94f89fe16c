import { authAdvice } from './auth-advice.ts';

/**
 * What a Kafka failure means for us. kafkajs marks its own errors `retriable`, but after its internal
 * retries it wraps even a connection error in a non-retriable KafkaJSNumberOfRetriesExceeded, and it does
 * not know newer broker codes (PRODUCER_FENCED). This walks the cause chain and decides once: a few kinds
 * cannot be fixed by waiting (fenced, refused credentials or permissions, a record too large, a refused
 * configuration); everything else — brokers down, leaders moving, coordinators loading, timeouts — is
 * transient and retried by the caller.
 */
export type KafkaFailureKind = 'fenced' | 'auth' | 'too-large' | 'config' | 'transient';

export class KafkaError extends Error {
  override name = 'KafkaError';
  readonly retriable: boolean;
  constructor(
    readonly kind: KafkaFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retriable = kind === 'transient';
  }
}

const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_NOT_FOUND', 'INVALID_PRODUCER_ID_MAPPING']);
const AUTH = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const CONFIG = new Set(['INVALID_CONFIG', 'INVALID_REPLICATION_FACTOR', 'POLICY_VIOLATION', 'INVALID_TRANSACTION_TIMEOUT', 'UNSUPPORTED_VERSION', 'INVALID_PARTITIONS']);
/** Kafka error codes kafkajs 2.2 does not name. */
const CODES: Record<number, string> = { 90: 'PRODUCER_FENCED' };
/** TLS failures that waiting does not fix (Node's codes). */
const TLS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|wrong version number|ALTNAME/i;

function kindOf(e: Record<string, unknown>): KafkaFailureKind | undefined {
  const type = typeof e.type === 'string' ? e.type : typeof e.code === 'number' ? CODES[e.code] : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  if ((type && FENCED.has(type)) || /fenced|newer producer with the same transactionalId/i.test(message)) return 'fenced';
  if ((type && AUTH.has(type)) || e.name === 'KafkaJSSASLAuthenticationError' || /SASL .*authentication failed|Authentication failed/i.test(message)) return 'auth';
  if (type && TOO_LARGE.has(type)) return 'too-large';
  if (type && CONFIG.has(type)) return 'config';
  const code = typeof e.code === 'string' ? e.code : '';
  if (TLS.test(code) || (e.name === 'KafkaJSConnectionError' && TLS.test(message))) return 'auth';
  return undefined;
}

/** The kind of a failure, from the first error in its cause chain that says more than "transient". */
export function classifyKafkaError(err: unknown): KafkaFailureKind {
  if (err instanceof KafkaError) return err.kind;
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const kind = kindOf(e as Record<string, unknown>);
    if (kind) return kind;
    const o = e as { cause?: unknown; originalError?: unknown; errors?: unknown[] };
    const nested = Array.isArray(o.errors) ? o.errors.find((x) => x && typeof x === 'object' && kindOf(x as Record<string, unknown>)) : undefined;
    e = nested ?? o.cause ?? o.originalError;
  }
  return 'transient';
}

const ADVICE: Record<Exclude<KafkaFailureKind, 'transient' | 'auth'>, string> = {
  fenced: 'another producer with the same CONNECTOR_NAME (transactional id) started and took over; this instance stops so the two never write together',
  'too-large': "a record batch is larger than the topic's max.message.bytes",
  config: 'the brokers refused a setting',
};

/** Wraps any Kafka failure as a KafkaError saying what was being done and, for non-transient kinds, what to do. */
export function asKafkaError(err: unknown, what: string): KafkaError {
  if (err instanceof KafkaError) return err;
  const kind = classifyKafkaError(err);
  const detail = oneLine(err instanceof Error ? err.message : String(err));
  const advice = kind === 'transient' ? undefined : kind === 'auth' ? authAdvice(err) : ADVICE[kind];
  const message = advice === undefined ? `Kafka: ${what} failed: ${detail}` : `Kafka: ${what} failed: ${detail} — ${advice}`;
  return new KafkaError(kind, message, { cause: err });
}

/**
 * A message on one line; OpenSSL's `80BC…:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad
 * certificate:../deps/…:1601:SSL alert number 42\n` shortened to its reason (`sslv3 alert bad certificate`).
 */
function oneLine(message: string): string {
  return message
    .replace(/[0-9A-F]{8,}:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+)(?::[^:\s]+:\d+)?(?::SSL alert number \d+)?/g, '$1')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/** Runs a Kafka call, translating its failure. */
export async function kafkaCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asKafkaError(err, what);
  }
}
