import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import type { Logger } from '../observe/log.ts';
import { withRetries } from '../retry.ts';
import { RegistryError, noApiAt } from './errors.ts';
import { RegistryHttp, type RegistryAuth, type RegistryRequest } from './http.ts';

export { RegistryError };
export type { RegistryAuth };

/** An Avro schema as JSON (what the registry stores). */
export type AvroSchema = Record<string, unknown>;

/** A writer schema of records in Kafka, by its registry id. */
export interface WriterSchema {
  readonly id: number;
  /** As registered, every attribute kept (avsc would drop logicalType and our own attributes). */
  readonly schema: AvroSchema;
  /** No logical types: timestamps decode as epoch millis, dates as epoch days (the sink's reduce.ts converts them). */
  readonly type: avro.Type;
}

export interface RegistryOptions {
  /** Basic auth and a private CA (SCHEMA_REGISTRY_USERNAME, _PASSWORD, _CA_FILE). */
  readonly auth?: RegistryAuth;
  /**
   * true (default): a transient failure is retried inside the call for as long as it lasts, logged here
   * (`retrying` / `recovered`, dependency registry). false: every call is tried once and its error says
   * whether to retry — the sink's task retries each call under its own signals (a revoked partition).
   */
  readonly retries?: boolean;
  readonly log?: Logger;
  readonly onRetry?: () => void;
  /** Stops the retries and the request in flight (on shutdown). */
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * The one client of a Confluent-compatible schema registry, for the producer and the sink: register under
 * an explicit subject (TopicNameStrategy) with BACKWARD compatibility, read writer schemas by id and a
 * subject's latest schema (cached by id: they never change), encode and decode the Confluent wire format.
 * The HTTP calls are ours (registry/http.ts: credentials, CA, timeout, clear errors); `encode` and `decode`
 * are @kafkajs/confluent-schema-registry's, fed with the schemas we fetched, so it never calls the registry
 * itself. The producer's hot path does not come here: it writes the wire format itself (publish/encoder.ts)
 * with the ids `register` returned.
 */
export class Registry {
  private readonly http: RegistryHttp;
  private readonly codec: SchemaRegistry;
  private readonly ids = new Map<string, number>();
  private readonly byId = new Map<number, WriterSchema>();
  private readonly compatibilityKnown = new Set<string>();
  readonly url: string;

  constructor(
    url: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.url = url.replace(/\/+$/, '');
    this.http = new RegistryHttp(this.url, opts.auth, opts.timeoutMs);
    this.codec = new SchemaRegistry({ host: this.url });
  }

  /** The registry answers the Confluent API at this URL, with these credentials (GET /subjects). */
  async check(): Promise<void> {
    await this.call({ method: 'GET', path: '/subjects', what: 'listing subjects', on404: noApiAt(this.http.shown) });
  }

  /** Registers a schema under a subject (BACKWARD compatible with its earlier versions); returns its id. */
  async register(subject: string, schema: AvroSchema): Promise<number> {
    const text = JSON.stringify(schema);
    const cacheKey = `${subject}\n${text}`;
    const known = this.ids.get(cacheKey);
    if (known !== undefined) return known;
    const config = `/config/${encodeURIComponent(subject)}`;
    // A subject without its own compatibility setting is new: it gets BACKWARD once its first version exists
    // (registries refuse settings for unknown subjects). A level set by an operator is left as it is.
    const isNew =
      !this.compatibilityKnown.has(subject) && (await this.call({ method: 'GET', path: config, what: `reading the compatibility of ${subject}`, absentOn: [404] })) === undefined;
    const { id } = (await this.call({ method: 'POST', path: `/subjects/${encodeURIComponent(subject)}/versions`, body: { schema: text }, what: `registering subject ${subject}` })) as { id: number };
    if (isNew) await this.call({ method: 'PUT', path: config, body: { compatibility: 'BACKWARD' }, what: `setting BACKWARD compatibility of ${subject}` });
    this.compatibilityKnown.add(subject);
    this.ids.set(cacheKey, id);
    this.learn(id, schema);
    return id;
  }

  async encode(schemaId: number, payload: unknown): Promise<Buffer> {
    await this.schemaById(schemaId);
    return this.codec.encode(schemaId, payload);
  }

  async decode(buffer: Buffer): Promise<unknown> {
    await this.writerOf(buffer);
    return this.codec.decode(buffer);
  }

  /** The newest schema registered under a subject (Avro JSON, with every attribute as registered). */
  async latest(subject: string): Promise<WriterSchema> {
    const body = (await this.call({
      method: 'GET',
      path: `/subjects/${encodeURIComponent(subject)}/versions/latest`,
      what: `reading the latest schema of ${subject}`,
      on404: `HTTP 404: the registry has no subject ${subject}; the producer registers it before writing the topic`,
    })) as { id: number; schema: string };
    return this.learn(body.id, JSON.parse(body.schema) as AvroSchema);
  }

  /** The writer schema of a Confluent wire-format message (magic byte 0, 4-byte schema id, Avro body). */
  async writerOf(buffer: Buffer): Promise<WriterSchema> {
    if (buffer.length < 5 || buffer[0] !== 0) {
      throw new RegistryError('record is not in the Confluent wire format (magic byte 0 + 4-byte schema id)', false);
    }
    return this.schemaById(buffer.readInt32BE(1));
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async schemaById(id: number): Promise<WriterSchema> {
    const known = this.byId.get(id);
    if (known) return known;
    // The registry's text rather than a parsed type: avsc drops logicalType attributes.
    const body = (await this.call({
      method: 'GET',
      path: `/schemas/ids/${id}`,
      what: `reading schema id ${id}`,
      on404:
        `HTTP 404: the registry has no schema ${id}, which records in Kafka were written with. Was the registry ` +
        `reset, or does SCHEMA_REGISTRY_URL point at another registry than the producer's?`,
    })) as { schema: string };
    return this.learn(id, JSON.parse(body.schema) as AvroSchema);
  }

  /** Remembers a schema and gives the codec its Avro type, so encoding and decoding need no request. */
  private learn(id: number, schema: AvroSchema): WriterSchema {
    const known = this.byId.get(id);
    if (known) return known;
    const entry = { id, schema, type: avro.Type.forSchema(schema as avro.Schema) };
    this.byId.set(id, entry);
    this.codec.cache.setSchema(id, SchemaType.AVRO, entry.type as never);
    return entry;
  }

  /** One registry call; with `retries`, retried while the registry is unreachable or answers 5xx. */
  private call(r: RegistryRequest): Promise<unknown> {
    if (this.opts.retries === false) return this.http.send(r, this.opts.signal);
    return withRetries(() => this.http.send(r, this.opts.signal), {
      dependency: 'registry',
      what: `schema registry ${this.http.shown}: ${r.what}`,
      log: this.opts.log ?? (() => undefined),
      onRetry: this.opts.onRetry,
      signal: this.opts.signal,
    });
  }
}

/** What the sink needs of the registry (its task takes this, so tests can stand in for it). */
/**
 * A synchronous reader of Confluent-framed records whose writer schema the caller knows (the producer's own
 * key schemas, which never change): no registry call per record, for reading millions of keys at start.
 * A record that is not in the wire format, or does not decode with the schema, throws naming both.
 */
export function framedReader(schema: AvroSchema, what: string): (wire: Buffer) => unknown {
  const type = avro.Type.forSchema(schema as avro.Schema);
  return (wire) => {
    if (wire.length < 5 || wire[0] !== 0) throw new Error(`${what}: a record that is not in the Confluent wire format (magic byte ${wire[0]})`);
    try {
      return type.fromBuffer(wire.subarray(5));
    } catch (err) {
      throw new Error(`${what}: a record written with schema id ${wire.readInt32BE(1)} does not decode with the expected schema (${(err as Error).message})`, { cause: err });
    }
  };
}

export type SchemaReader = Pick<Registry, 'check' | 'latest' | 'writerOf'>;
