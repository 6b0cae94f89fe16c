import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
/** An Avro schema as JSON (what the registry stores). */
export type AvroSchema = Record<string, unknown>;

/**
 * Our view of a Confluent-compatible schema registry: register under an explicit subject (TopicNameStrategy),
 * encode and decode the Confluent wire format. Compatibility is BACKWARD; a schema the registry refuses is a
 * loud error naming the subject.
 */
export class Registry {
  private readonly client: SchemaRegistry;
  private readonly ids = new Map<string, number>();
  private readonly schemasById = new Map<number, AvroSchema>();

  constructor(readonly url: string) {
    this.client = new SchemaRegistry({ host: url.replace(/\/+$/, '') });
  }

  async register(subject: string, schema: AvroSchema): Promise<number> {
    const cacheKey = `${subject}\n${JSON.stringify(schema)}`;
    const known = this.ids.get(cacheKey);
    if (known !== undefined) return known;
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject, compatibility: COMPATIBILITY.BACKWARD },
      );
      this.ids.set(cacheKey, id);
      return id;
    } catch (err) {
      throw new Error(
        `schema registry ${this.url}: registering subject ${subject} failed: ${(err as Error).message}. ` +
          `If the registry refused the schema as incompatible, the table's columns changed in a way BACKWARD ` +
          `compatibility does not allow; see docs/ARCHITECTURE.md "Schema evolution".`,
        { cause: err },
      );
    }
  }

  encode(schemaId: number, payload: unknown): Promise<Buffer> {
    return this.client.encode(schemaId, payload);
  }

  decode(buffer: Buffer): Promise<unknown> {
    return this.client.decode(buffer);
  }

  /** The newest schema registered under a subject (Avro JSON, with every attribute as registered). */
  async latestSchema(subject: string): Promise<{ id: number; schema: AvroSchema }> {
    const body = (await this.getJson(`/subjects/${encodeURIComponent(subject)}/versions/latest`)) as { id: number; schema: string };
    return { id: body.id, schema: JSON.parse(body.schema) as AvroSchema };
  }

  /** The writer schema (Avro JSON) of a Confluent wire-format message, cached by id. */
  async writerSchema(buffer: Buffer): Promise<{ id: number; schema: AvroSchema }> {
    if (buffer.length < 5 || buffer[0] !== 0) {
      throw new Error('record is not in the Confluent wire format (magic byte 0 + 4-byte schema id)');
    }
    const id = buffer.readInt32BE(1);
    let schema = this.schemasById.get(id);
    if (!schema) {
      // Read the registry's text rather than the client's parsed type: avsc drops logicalType attributes.
      const body = (await this.getJson(`/schemas/ids/${id}`)) as { schema: string };
      schema = JSON.parse(body.schema) as AvroSchema;
      this.schemasById.set(id, schema);
    }
    return { id, schema };
  }

  private async getJson(path: string): Promise<unknown> {
    const res = await fetch(`${this.url.replace(/\/+$/, '')}${path}`, { headers: { accept: 'application/vnd.schemaregistry.v1+json' } });
    if (!res.ok) throw new Error(`schema registry ${this.url}: GET ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res.json();
  }
}
