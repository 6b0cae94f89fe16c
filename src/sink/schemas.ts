import avro from 'avsc';
import { redactUrl } from '../config.ts';
import type { AvroSchema } from '../registry/client.ts';

/**
 * The sink's reads from the Confluent-compatible schema registry: writer schemas by id (cached, they never
 * change), the latest schema of a subject, and Avro decoding of Confluent wire-format records. Every
 * request has a timeout, and every failure says whether waiting may fix it: no answer, a reset or refused
 * connection, a timeout or a 5xx pass with time; 401/403 (credentials), a 404 for a schema id (a reset
 * registry, or another one) and a 404 for the API itself (a URL without Apicurio's /apis/ccompat/v7) do not.
 */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly retriable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface WriterSchema {
  readonly id: number;
  /** As registered, every attribute kept (avsc would drop logicalType and our own attributes). */
  readonly schema: AvroSchema;
  readonly type: avro.Type;
}

const REQUEST_TIMEOUT_MS = 10_000;

export class SinkSchemas {
  private readonly byId = new Map<number, WriterSchema>();

  constructor(readonly url: string) {}

  /** The registry answers the Confluent API at this URL (GET /subjects). */
  async check(): Promise<void> {
    await this.get('/subjects', 'listing subjects', (status) =>
      status === 404
        ? `HTTP 404: no Confluent-compatible API at this URL. For Apicurio Registry the URL ends in /apis/ccompat/v7 ` +
          `(e.g. ${redactUrl(this.url).replace(/\/+$/, '')}/apis/ccompat/v7); check SCHEMA_REGISTRY_URL`
        : undefined,
    );
  }

  /** The writer schema of a wire-format message (magic byte 0, 4-byte schema id, Avro body). */
  async writerOf(buffer: Buffer): Promise<WriterSchema> {
    if (buffer.length < 5 || buffer[0] !== 0) throw new RegistryError(false, 'record is not in the Confluent wire format (magic byte 0 + 4-byte schema id)');
    const id = buffer.readInt32BE(1);
    const known = this.byId.get(id);
    if (known) return known;
    const body = (await this.get(`/schemas/ids/${id}`, `reading schema id ${id}`, (status) =>
      status === 404
        ? `HTTP 404: the registry has no schema ${id}, which records in Kafka were written with. Was the registry ` +
          `reset, or does SCHEMA_REGISTRY_URL point at another registry than the producer's?`
        : undefined,
    )) as { schema: string };
    const schema = JSON.parse(body.schema) as AvroSchema;
    // No logical types: timestamps decode as epoch millis, dates as epoch days (reduce.ts converts them).
    const entry = { id, schema, type: avro.Type.forSchema(schema as avro.Schema) };
    this.byId.set(id, entry);
    return entry;
  }

  /** The newest schema of a subject. */
  async latest(subject: string): Promise<{ id: number; schema: AvroSchema }> {
    const body = (await this.get(`/subjects/${encodeURIComponent(subject)}/versions/latest`, `reading the latest schema of ${subject}`, (status) =>
      status === 404 ? `HTTP 404: the registry has no subject ${subject}; the producer registers it before writing the topic` : undefined,
    )) as { id: number; schema: string };
    return { id: body.id, schema: JSON.parse(body.schema) as AvroSchema };
  }

  private async get(path: string, what: string, explain404: (status: number) => string | undefined): Promise<unknown> {
    const prefix = `schema registry ${redactUrl(this.url).replace(/\/+$/, '')}: ${what}`;
    let res: Response;
    try {
      res = await fetch(`${this.url.replace(/\/+$/, '')}${path}`, {
        headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      // No answer: refused, reset, unresolvable for now, or the timeout. Waiting may fix all of them.
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      throw new RegistryError(true, `${prefix} failed: ${err instanceof Error ? err.message : String(err)}${cause}`, { cause: err });
    }
    if (res.ok) {
      try {
        return await res.json();
      } catch (err) {
        throw new RegistryError(true, `${prefix}: the answer was cut off or is not JSON`, { cause: err });
      }
    }
    const text = (await res.text().catch(() => '')).slice(0, 200);
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new RegistryError(true, `${prefix} failed: HTTP ${res.status} ${text}`);
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(false, `${prefix} failed: HTTP ${res.status} — the registry refused the request; check its credentials and permissions for SCHEMA_REGISTRY_URL`);
    }
    const explained = explain404(res.status);
    throw new RegistryError(false, `${prefix} failed: ${explained ?? `HTTP ${res.status} ${text}`}`);
  }
}
