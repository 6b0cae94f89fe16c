import avro from 'avsc';
import type { AvroSchema } from '../registry/client.ts';
import { META_FIELDS, VERSION_KEY_FIELD } from './avro-schema.ts';

/**
 * The producer's hot path: Avro records in the Confluent wire format (magic byte 0, 4-byte schema id, Avro
 * body), written with avsc straight into a batch's slab. The schema id is resolved once per schema (by
 * `Publisher.prepare`); nothing here calls the registry, allocates a buffer per record or builds an
 * intermediate object per record.
 *
 * An Avro record's encoding is its fields' encodings one after another, so a value (the row's columns, then
 * META_FIELDS) is written as two parts — the row object as it is, then the four metadata fields — and a
 * history key (the entity key's fields, then VERSION_KEY_FIELD) as the entity key and one long. Byte for
 * byte the same as encoding the whole record (test/publish/encoder.test.ts checks it against avsc).
 */

/** The metadata of a version, in META_FIELDS order. */
export interface ValueMeta {
  readonly __op: string;
  readonly __deleted: boolean;
  readonly __source_ts_ms: number;
  readonly __synced_ms: number;
}

const SLAB_MIN = 16 * 1024;
const SLAB_MAX = 1024 * 1024;

/**
 * Where one batch's records are written: chunks of growing size, each record a view into one of them. A
 * batch's records live until its transaction committed, so every batch has a slab of its own.
 */
export class Slab {
  private buf: Buffer;
  private pos = 0;

  constructor(size = SLAB_MIN) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  /**
   * A framed record: the header, then `a` encoded with `ta` and (if given) `b` with `tb`. avsc's `encode`
   * returns the end offset, or a negative count of missing bytes when the chunk is too small: then the
   * record is written again at the start of a larger chunk (the part written stays unused).
   */
  framed(schemaId: number, ta: avro.Type, a: unknown, tb?: avro.Type, b?: unknown): Buffer {
    for (;;) {
      const buf = this.buf;
      const start = this.pos;
      if (buf.length - start >= 5) {
        buf[start] = 0;
        buf.writeInt32BE(schemaId, start + 1);
        let end = ta.encode(a, buf, start + 5);
        if (end >= 0 && tb) end = tb.encode(b, buf, end);
        if (end >= 0) {
          this.pos = end;
          return buf.subarray(start, end);
        }
      }
      this.grow(2 * (buf.length - start) + 64);
    }
  }

  /** A framed record around an Avro body written before (a version's body under its history schema). */
  reframed(schemaId: number, body: Buffer): Buffer {
    if (this.buf.length - this.pos < 5 + body.length) this.grow(5 + body.length);
    const buf = this.buf;
    const start = this.pos;
    buf[start] = 0;
    buf.writeInt32BE(schemaId, start + 1);
    body.copy(buf, start + 5);
    this.pos = start + 5 + body.length;
    return buf.subarray(start, this.pos);
  }

  private grow(atLeast: number): void {
    this.buf = Buffer.allocUnsafeSlow(Math.max(atLeast, Math.min(SLAB_MAX, this.buf.length * 2)));
    this.pos = 0;
  }
}

/** Writes a table's values: its row (the schema's columns, absent ones as null) and a version's metadata. */
export class ValueEncoder {
  private readonly columns: avro.Type;
  private readonly meta: avro.Type;
  private readonly whole: avro.Type;

  constructor(
    readonly schemaId: number,
    schema: AvroSchema,
  ) {
    const fields = (schema as { fields: Array<{ name: string }> }).fields;
    const tail = fields.slice(-META_FIELDS.length).map((f) => f.name);
    if (tail.join() !== META_FIELDS.join()) throw new Error(`schema id ${schemaId}: a value schema must end with ${META_FIELDS.join(', ')} (has ${tail.join(', ')})`);
    // The same field types as the registered schema (names of records only matter to readers, not to bytes).
    this.whole = avro.Type.forSchema(schema as avro.Schema);
    this.columns = avro.Type.forSchema({ type: 'record', name: 'Columns', fields: fields.slice(0, -META_FIELDS.length) } as avro.Schema);
    this.meta = avro.Type.forSchema({ type: 'record', name: 'Meta', fields: fields.slice(-META_FIELDS.length) } as avro.Schema);
  }

  /**
   * The framed value of a version. The row is read as it is: a column it lacks is written as null (its
   * default: every column but the key is optional); a value that does not fit is an error naming the fields.
   */
  encode(slab: Slab, row: object, meta: ValueMeta): Buffer {
    try {
      return slab.framed(this.schemaId, this.columns, row, this.meta, meta);
    } catch (err) {
      const whole: Record<string, unknown> = { ...row, ...meta };
      const paths: string[] = [];
      this.whole.isValid(whole, { errorHook: (path) => paths.push(path.join('.')) });
      throw new Error(`schema id ${this.schemaId}: the record does not fit its schema (${paths.join(', ') || (err as Error).message})`, { cause: err });
    }
  }
}

/** Writes a table's keys; a history table's keys are the entity's key fields and the version time. */
export class KeyEncoder {
  private readonly entity: avro.Type;
  private readonly version: avro.Type | undefined;

  constructor(
    readonly schemaId: number,
    schema: AvroSchema,
  ) {
    const fields = (schema as { fields: Array<{ name: string; type: unknown }> }).fields;
    const last = fields.at(-1);
    this.version = last?.name === VERSION_KEY_FIELD ? avro.Type.forSchema(last.type as avro.Schema) : undefined;
    this.entity = avro.Type.forSchema({ type: 'record', name: 'Key', fields: this.version ? fields.slice(0, -1) : fields } as avro.Schema);
  }

  /** The framed key; `versionMs` is required for a history table's key (its VERSION_KEY_FIELD). */
  encode(slab: Slab, key: object, versionMs?: number): Buffer {
    try {
      if (!this.version) return slab.framed(this.schemaId, this.entity, key);
      if (versionMs === undefined) throw new Error(`a history key needs its ${VERSION_KEY_FIELD}`);
      return slab.framed(this.schemaId, this.entity, key, this.version, versionMs);
    } catch (err) {
      throw new Error(`schema id ${this.schemaId}: the key ${JSON.stringify(key)} does not fit its schema (${(err as Error).message})`, { cause: err });
    }
  }
}
