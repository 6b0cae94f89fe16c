import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { Agent, request } from 'undici';
import type { Logger } from '../observe/log.ts';
import { describeError, withRetries } from '../retry.ts';

/** An Avro schema as JSON (what the registry stores). */
export type AvroSchema = Record<string, unknown>;

/**
 * A registry failure. `retriable`: the registry is down, restarting or overloaded (no answer, 5xx), and
 * the call is retried; otherwise the message says what is wrong and what to do.
 */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RegistryOptions {
  /** Retries of transient failures are logged here (`retrying` / `recovered`, dependency registry). */
  readonly log?: Logger;
  readonly onRetry?: () => void;
  /** Stops the retries (on shutdown). */
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * Our view of a Confluent-compatible schema registry: register under an explicit subject (TopicNameStrategy)
 * with BACKWARD compatibility, encode and decode the Confluent wire format. The HTTP calls are ours (clear
 * errors, a timeout, retries of transient failures for as long as they last); Avro encoding and decoding
 * are @kafkajs/confluent-schema-registry's, fed with the schemas we fetched, so it never calls the
 * registry itself.
 */
export class Registry {
  private readonly codec: SchemaRegistry;
  private readonly agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 30_000 });
  private readonly ids = new Map<string, number>();
  private readonly schemasById = new Map<number, AvroSchema>();
  private readonly types = new Map<number, avro.Type>();
  /** Reused by every encoder: a record is written here, then copied out once at its exact size. */
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private readonly compatibilityKnown = new Set<string>();
  readonly url: string;

  constructor(
    url: string,
    private readonly opts: RegistryOptions = {},
  ) {
    this.url = url.replace(/\/+$/, '');
    this.codec = new SchemaRegistry({ host: this.url });
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
    const isNew = !this.compatibilityKnown.has(subject) && (await this.call('GET', config, undefined, `reading the compatibility of ${subject}`, [404])) === undefined;
    const { id } = (await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema: text }, `registering subject ${subject}`)) as { id: number };
    if (isNew) await this.call('PUT', config, { compatibility: 'BACKWARD' }, `setting BACKWARD compatibility of ${subject}`);
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
    await this.writerSchema(buffer);
    return this.codec.decode(buffer);
  }

  /** The newest schema registered under a subject (Avro JSON, with every attribute as registered). */
  async latestSchema(subject: string): Promise<{ id: number; schema: AvroSchema }> {
    const body = (await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`, undefined, `reading the latest schema of ${subject}`)) as { id: number; schema: string };
    const schema = JSON.parse(body.schema) as AvroSchema;
    this.learn(body.id, schema);
    return { id: body.id, schema };
  }

  /** The writer schema (Avro JSON) of a Confluent wire-format message, cached by id. */
  async writerSchema(buffer: Buffer): Promise<{ id: number; schema: AvroSchema }> {
    if (buffer.length < 5 || buffer[0] !== 0) {
      throw new RegistryError('record is not in the Confluent wire format (magic byte 0 + 4-byte schema id)', false);
    }
    const id = buffer.readInt32BE(1);
    return { id, schema: await this.schemaById(id) };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async schemaById(id: number): Promise<AvroSchema> {
    const known = this.schemasById.get(id);
    if (known) return known;
    // The registry's text rather than a parsed type: avsc drops logicalType attributes.
    const body = (await this.call('GET', `/schemas/ids/${id}`, undefined, `reading schema id ${id}`)) as { schema: string };
    const schema = JSON.parse(body.schema) as AvroSchema;
    this.learn(id, schema);
    return schema;
  }

  /**
   * A synchronous encoder for a schema this client registered or read: the Confluent wire format (magic
   * byte, schema id, Avro body) written into one buffer — the producer's hot path, so no promise, no
   * intermediate buffers. A payload that does not fit the schema is an error naming the offending fields.
   */
  writerFor(schemaId: number): (payload: unknown) => Buffer {
    const type = this.types.get(schemaId);
    if (!type) throw new Error(`schema registry: schema id ${schemaId} was not registered or read by this client`);
    return (payload) => {
      for (;;) {
        const scratch = this.scratch;
        scratch[0] = 0;
        scratch.writeInt32BE(schemaId, 1);
        let end: number;
        try {
          end = type.encode(payload, scratch, 5);
        } catch (err) {
          const paths: string[] = [];
          type.isValid(payload, { errorHook: (path) => paths.push(path.join('.')) });
          throw new Error(`schema id ${schemaId}: the record does not fit its schema (${paths.join(', ') || (err as Error).message})`, { cause: err });
        }
        if (end >= 0) return Buffer.from(scratch.subarray(0, end));
        this.scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
      }
    };
  }

  /** Remembers a schema and gives the codec its Avro type, so encoding and decoding need no request. */
  private learn(id: number, schema: AvroSchema): void {
    if (this.schemasById.has(id)) return;
    this.schemasById.set(id, schema);
    const type = avro.Type.forSchema(schema as avro.Schema);
    this.types.set(id, type);
    this.codec.cache.setSchema(id, SchemaType.AVRO, type as never);
  }

  /** One registry call, retried while the registry is unreachable or answers 5xx; `absentOn` statuses give undefined. */
  private call(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, what: string, absentOn: readonly number[] = []): Promise<unknown> {
    return withRetries(() => this.once(method, path, body, what, absentOn), {
      dependency: 'registry',
      what: `schema registry ${this.url}: ${what}`,
      log: this.opts.log ?? (() => undefined),
      onRetry: this.opts.onRetry,
      signal: this.opts.signal,
    });
  }

  private async once(method: string, path: string, body: unknown, what: string, absentOn: readonly number[]): Promise<unknown> {
    const where = `schema registry ${this.url}`;
    let res;
    try {
      res = await request(`${this.url}${path}`, {
        method,
        dispatcher: this.agent,
        headers: { accept: 'application/vnd.schemaregistry.v1+json', ...(body !== undefined ? { 'content-type': 'application/vnd.schemaregistry.v1+json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        // A registry that accepts connections and never answers is an outage too: waited out, and logged.
        headersTimeout: this.opts.timeoutMs ?? 10_000,
        bodyTimeout: this.opts.timeoutMs ?? 10_000,
        signal: this.opts.signal,
      });
    } catch (err) {
      throw new RegistryError(`${where}: ${what}: no answer (${describeError(err)}); is SCHEMA_REGISTRY_URL right and the registry running?`, true, undefined, { cause: err });
    }
    const text = await res.body.text().catch(() => '');
    if (absentOn.includes(res.statusCode) && /error_code/.test(text)) return undefined;
    if (res.statusCode >= 200 && res.statusCode < 300) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new RegistryError(`${where}: ${what}: the answer is not JSON (${JSON.stringify(text.slice(0, 80))}); is SCHEMA_REGISTRY_URL a Confluent-compatible API?`, false, res.statusCode);
      }
    }
    throw new RegistryError(`${where}: ${what}: ${explain(res.statusCode, text)}`, res.statusCode >= 500 || res.statusCode === 429, res.statusCode);
  }
}

/** What a registry error status means, and what to do about it. */
function explain(status: number, text: string): string {
  let detail = text.slice(0, 200);
  let code: number | undefined;
  try {
    const parsed = JSON.parse(text) as { error_code?: number; message?: string };
    code = parsed.error_code;
    detail = parsed.message ?? detail;
  } catch {
    /* not a registry error body */
  }
  switch (status) {
    case 401:
    case 403:
      return `HTTP ${status}: the registry refused the credentials; check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`;
    case 404:
      return code === undefined
        ? `HTTP 404: this URL does not answer the Confluent registry API; SCHEMA_REGISTRY_URL must point at it (Apicurio: http://host:8080/apis/ccompat/v7)`
        : `HTTP 404 (error ${code}): ${detail}`;
    case 409:
      return `HTTP 409: the registry refused the schema as incompatible with the subject's earlier versions under BACKWARD compatibility (${detail}); see docs/ARCHITECTURE.md "Schema evolution"`;
    case 422:
      return `HTTP 422: the registry refused the schema as invalid (${detail})`;
    default:
      return `HTTP ${status}: ${detail}`;
  }
}
