import { rowDecoderFor, type RecordMeta, type RowDecoder } from './avro-rows.ts';
import { tableFromSchemas } from './avro-table.ts';
import { SinkError } from './errors.ts';
import type { InBatch } from './kafka.ts';
import type { SinkNaming, SinkTable, SinkValue } from './model.ts';
import type { DecodedRecord } from './reduce.ts';
import { resyncOf } from './resync.ts';
import type { SinkSchemas, WriterSchema } from './schemas.ts';

/** Records decoded between two turns of the event loop. */
const DECODE_SLICE = 1_000;

/** How the decoder asks the registry: through the task's retries (transient failures waited out). */
export type RegistryCall = <T>(what: string, fn: () => Promise<T>, signal: AbortSignal) => Promise<T>;

/**
 * Kafka records → decoded records with their destination table. Writer schemas are cached by id (the
 * registry's are immutable) and tables by topic and schema ids, so a record of known schemas is decoded
 * without awaiting; the registry is asked once per new id.
 */
export class RecordDecoder {
  private readonly tables = new Map<string, SinkTable>();
  /** The newest table seen per topic, for tombstones (they carry no value schema). */
  private readonly lastTable = new Map<string, SinkTable>();
  private readonly writers = new Map<number, WriterSchema>();

  constructor(
    private readonly schemas: SinkSchemas,
    /** `<prefix>.`: topic names minus this are table names. */
    private readonly prefix: string,
    private readonly naming: SinkNaming,
    private readonly registry: RegistryCall,
  ) {}

  async decode(batch: InBatch, records: InBatch['records'], signal: AbortSignal): Promise<DecodedRecord[]> {
    const out: DecodedRecord[] = new Array<DecodedRecord>(records.length);
    const meta: RecordMeta = { op: '', deleted: false, sourceTsMs: null };
    for (let i = 0; i < records.length; i++) {
      // A fetch's batches are decoded while the previous group transaction runs: in slices, so each of that
      // transaction's statements is followed up as soon as it completes, not after a whole fetch's decoding.
      if (i > 0 && i % DECODE_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const r = records[i]!;
      if (!r.key) throw new SinkError(`${batch.topic}/${batch.partition}@${r.offset} has no key; records of ${this.prefix}* are always keyed`);
      const keyWriter = this.known(r.key) ?? (await this.writer(r.key, batch, r.offset, signal));
      const valueWriter = r.value ? (this.known(r.value) ?? (await this.writer(r.value, batch, r.offset, signal))) : null;
      const table = this.knownTable(batch.topic, keyWriter, valueWriter) ?? (await this.tableFor(batch.topic, keyWriter, valueWriter, signal));
      const key = decodeWith(keyWriter, r.key, batch, r.offset);
      const rows = r.value && valueWriter ? rowDecoderFor(valueWriter.schema, table) : null;
      if (!r.value || !valueWriter) out[i] = { table, offset: r.offset, key, value: null, resync: resyncOf(r) };
      else if (!rows) out[i] = { table, offset: r.offset, key, value: decodeWith(valueWriter, r.value, batch, r.offset), resync: resyncOf(r) };
      else {
        const row = decodeWith(valueWriter, r.value, batch, r.offset, rows, meta) as Record<string, SinkValue>;
        out[i] = { table, offset: r.offset, key, value: { __op: meta.op, __deleted: meta.deleted, __source_ts_ms: meta.sourceTsMs }, row, resync: resyncOf(r) };
      }
    }
    return out;
  }

  private known(buffer: Buffer): WriterSchema | undefined {
    return buffer.length >= 5 && buffer[0] === 0 ? this.writers.get(buffer.readInt32BE(1)) : undefined;
  }

  private async writer(buffer: Buffer, batch: InBatch, offset: bigint, signal: AbortSignal): Promise<WriterSchema> {
    const w = await this.registry(`reading the writer schema of ${batch.topic}/${batch.partition}@${offset}`, () => this.schemas.writerOf(buffer), signal);
    this.writers.set(w.id, w);
    return w;
  }

  /** The table of a record whose schemas were seen before on this topic (for tombstones: the newest table). */
  private knownTable(topic: string, key: WriterSchema, value: WriterSchema | null): SinkTable | undefined {
    if (!value) return this.lastTable.get(topic);
    return this.tables.get(`${topic}#${key.id}#${value.id}`);
  }

  private async tableFor(topic: string, key: WriterSchema, value: WriterSchema | null, signal: AbortSignal): Promise<SinkTable> {
    if (!value) {
      const last = this.lastTable.get(topic);
      if (last) return last;
    }
    const v = value ?? (await this.registry(`reading the latest schema of ${topic}-value`, () => this.schemas.latest(`${topic}-value`), signal));
    const cacheKey = `${topic}#${key.id}#${v.id}`;
    let table = this.tables.get(cacheKey);
    if (!table) {
      table = tableFromSchemas(topic.slice(this.prefix.length), key.schema, v.schema, this.naming);
      this.tables.set(cacheKey, table);
    }
    const last = this.lastTable.get(topic);
    if (!last || table.columns.length >= last.columns.length) this.lastTable.set(topic, table);
    return table;
  }
}

/** The record's Avro body by avsc, or straight to the table's row by `rows` (src/sink/avro-rows.ts). */
function decodeWith(writer: WriterSchema, buffer: Buffer, batch: InBatch, offset: bigint, rows?: RowDecoder, meta?: RecordMeta): Record<string, unknown> {
  try {
    return rows ? rows(buffer.subarray(5), meta!) : (writer.type.fromBuffer(buffer.subarray(5)) as Record<string, unknown>);
  } catch (err) {
    throw new SinkError(`${batch.topic}/${batch.partition}@${offset} cannot be decoded with its writer schema ${writer.id}: ${(err as Error).message}`, { cause: err });
  }
}
