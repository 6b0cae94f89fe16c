/**
 * Key index snapshots: a local cache of a topic's KeyIndex, so a restart reads only the records written after
 * the snapshot instead of every key of every indexed topic (a million deals took tens of seconds and most of
 * the restart's memory). The compacted topic stays the truth; a snapshot is used only when it provably
 * describes a prefix of the topic as it is now — the same Kafka cluster, the same partitions, each saved
 * position within the partition's [log start, end] — and then the read starts at the saved positions.
 * Anything else (no file, another cluster, a topic recreated, a torn or foreign file, another format) means
 * a full read, as before; never a wrong index. Like Kafka Streams' state stores with their checkpoint file.
 *
 * The file (format 3): 8 magic bytes, a 4-byte header length, the JSON header (space-padded so the body
 * starts at a multiple of 8), then the index's arrays as their raw bytes in this machine's byte order
 * (flags, the hashes' low nibbles, padding to 8, then four arrays of 32-bit words: times in seconds, ids,
 * the hashes' two 32-bit parts) and a JSON tail (other ids, the ms past the seconds where not 0, times
 * beyond 32-bit seconds, odd hashes).
 * Loading is a checksum and typed-array views over the file's bytes — no per-key work but building the
 * integer keys' slot pages (or probe table) — a million keys in well under a second. The header holds the body's SHA-256,
 * the byte order and the tail's length. Files of an earlier format (2: times in ms and ids as doubles; 1:
 * arrays re-keyed into a Map on load) are refused like any other, and the topic is read once; the file
 * written after that sync is of this format.
 * Written atomically (temp file, fsync, rename), 0600: keys are record keys (ids), never row values, and
 * indexes whose key holds a hashed column are not snapshotted at all (they hold clear keys in memory).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TableSpec } from '../catalog/types.ts';
import { KeyIndex } from './key-index.ts';

const MAGIC = Buffer.from('PDCKIDX1', 'latin1');
const FORMAT = 3;
const ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'le' : 'be';

/** Where a topic's partitions stood when a snapshot was taken: partition → next offset to read. */
export type Positions = ReadonlyMap<number, bigint>;

/** A partition's offsets now: its log start and its end. */
export interface PartitionOffsets {
  readonly partition: number;
  readonly low: bigint;
  readonly high: bigint;
}

interface Header {
  readonly format: number;
  readonly connector: string;
  readonly topic: string;
  readonly table: string;
  readonly key: readonly string[];
  readonly clusterId: string;
  readonly positions: Record<string, string>;
  readonly writtenAt: string;
  readonly slots: number;
  readonly endian: 'le' | 'be';
  readonly tailBytes: number;
  readonly bodySha256: string;
}

/** What the body holds past its arrays: the entries kept in maps. */
interface Tail {
  readonly otherIds: ReadonlyArray<readonly [number, string | number]>;
  readonly millis: ReadonlyArray<readonly [number, number]>;
  readonly otherTimes: ReadonlyArray<readonly [number, number]>;
  readonly oddHashes: ReadonlyArray<readonly [number, string]>;
}

export interface Snapshot {
  readonly index: KeyIndex;
  readonly positions: Positions;
}

/** Why a snapshot was not used (logged; a full read follows). */
export class SnapshotUnusable extends Error {}

type SnapshotMeta = { connector: string; topic: string; clusterId: string; positions: Positions; now?: Date };

/** The whole file as one buffer (tests; the store writes the parts). */
export function encodeSnapshot(index: KeyIndex, meta: SnapshotMeta): Buffer {
  return Buffer.concat(snapshotParts(index, meta));
}

/**
 * The file as its parts, in order: the header, then views of the index's own arrays (nothing copied: a
 * million keys would otherwise mean 50 MB of copies at every write) and the tail. Valid until the index
 * changes, so written at once.
 */
export function snapshotParts(index: KeyIndex, meta: SnapshotMeta): Buffer[] {
  const state = index.exportState();
  const n = state.smallIds.reduce((sum, c) => sum + c.length, 0);
  const { pad, tailAt } = layout(n);
  const tail = Buffer.from(JSON.stringify({ otherIds: state.otherIds, millis: state.millis, otherTimes: state.otherTimes, oddHashes: state.oddHashes } satisfies Tail), 'utf8');
  const bytesOf = (a: Uint8Array | Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const parts = [...state.flags, ...state.hashLow4, Buffer.alloc(pad), ...state.seconds, ...state.smallIds, ...state.hashHi, ...state.hashLo].map(bytesOf);
  parts.push(tail);
  if (parts.reduce((sum, p) => sum + p.length, 0) !== tailAt + tail.length) throw new Error(`key index of ${index.spec.name}: arrays of different lengths`);
  const sha = createHash('sha256');
  for (const p of parts) sha.update(p);
  const header: Header = {
    format: FORMAT,
    connector: meta.connector,
    topic: meta.topic,
    table: index.spec.name,
    key: index.spec.primaryKey,
    clusterId: meta.clusterId,
    positions: Object.fromEntries([...meta.positions].map(([p, o]) => [String(p), String(o)])),
    writtenAt: (meta.now ?? new Date()).toISOString(),
    slots: n,
    endian: ENDIAN,
    tailBytes: tail.length,
    bodySha256: sha.digest('hex'),
  };
  const json = JSON.stringify(header);
  // Padded so the body, and each array in it, starts at a multiple of 8: the arrays are viewed, not copied.
  const head = Buffer.from(json.padEnd(json.length + ((8 - ((12 + Buffer.byteLength(json)) % 8)) % 8)), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return [Buffer.concat([MAGIC, len, head]), ...parts];
}

/**
 * The snapshot in `bytes`, if it belongs to this connector, topic and table and describes a prefix of the
 * topic as `now` gives it; throws SnapshotUnusable saying why not.
 */
export function decodeSnapshot(bytes: Buffer, spec: TableSpec, expect: { connector: string; topic: string; clusterId: string; now: readonly PartitionOffsets[] }): Snapshot {
  if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) throw new SnapshotUnusable('not a key index snapshot');
  const headLen = bytes.readUInt32BE(8);
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(12, 12 + headLen).toString('utf8')) as Header;
  } catch {
    throw new SnapshotUnusable('unreadable header');
  }
  if (header.format !== FORMAT) throw new SnapshotUnusable(`format ${String(header.format)}, this version reads ${FORMAT}`);
  if (header.connector !== expect.connector || header.topic !== expect.topic || header.table !== spec.name) throw new SnapshotUnusable('written for another connector, topic or table');
  if (JSON.stringify(header.key) !== JSON.stringify(spec.primaryKey)) throw new SnapshotUnusable('the table\'s key changed');
  if (header.clusterId !== expect.clusterId) throw new SnapshotUnusable('written against another Kafka cluster');
  const saved = new Map(Object.entries(header.positions).map(([p, o]) => [Number(p), BigInt(o)]));
  if (saved.size !== expect.now.length) throw new SnapshotUnusable(`the topic has ${expect.now.length} partitions, the snapshot ${saved.size}`);
  for (const p of expect.now) {
    const at = saved.get(p.partition);
    if (at === undefined) throw new SnapshotUnusable(`no position for partition ${p.partition}`);
    // Beyond the end: the topic was deleted and created again. Below the log start: records were removed.
    if (at > p.high || at < p.low) throw new SnapshotUnusable(`partition ${p.partition}: saved position ${at} is outside [${p.low}, ${p.high}] (topic recreated or truncated)`);
  }
  if (header.endian !== ENDIAN) throw new SnapshotUnusable(`written on a ${String(header.endian)} machine, this one is ${ENDIAN}`);
  const n = header.slots;
  const { pad, tailAt } = layout(n);
  let body = bytes.subarray(12 + headLen);
  if (!Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger(header.tailBytes) || body.length !== tailAt + header.tailBytes) {
    throw new SnapshotUnusable(`${body.length} body bytes, the header describes ${tailAt + Number(header.tailBytes)} (torn file)`);
  }
  if (createHash('sha256').update(body).digest('hex') !== header.bodySha256) throw new SnapshotUnusable('checksum mismatch (damaged file)');
  // Views need the body at a multiple of 8 in memory; a read into a pooled buffer may not be: one copy then.
  if (body.byteOffset % 8 !== 0) body = Buffer.from(body);
  const at = body.byteOffset + 2 * n + pad;
  const words = (i: number) => new Uint32Array(body.buffer, at + i * n * 4, n);
  let tail: Tail;
  try {
    tail = JSON.parse(body.subarray(tailAt).toString('utf8')) as typeof tail;
  } catch {
    throw new SnapshotUnusable('unreadable tail');
  }
  let index: KeyIndex;
  try {
    const flags = new Uint8Array(body.buffer, body.byteOffset, n);
    const hashLow4 = new Uint8Array(body.buffer, body.byteOffset + n, n);
    const state = { flags: [flags], hashLow4: [hashLow4], seconds: [words(0)], smallIds: [words(1)], hashHi: [words(2)], hashLo: [words(3)], ...tail };
    index = KeyIndex.fromState(spec, state);
  } catch (err) {
    throw new SnapshotUnusable(`inconsistent contents: ${(err as Error).message}`);
  }
  return { index, positions: saved };
}

/** Where the body's parts start: two byte arrays, padding to 8, four arrays of 32-bit words. */
function layout(n: number): { pad: number; tailAt: number } {
  const pad = (8 - ((2 * n) % 8)) % 8;
  return { pad, tailAt: 2 * n + pad + 4 * n * 4 };
}

/** Snapshot files of one connector under a directory (STATE_DIR), one per topic. */
export class SnapshotStore {
  private readonly dir: string;

  constructor(stateDir: string, connector: string) {
    this.dir = join(stateDir, encodeURIComponent(connector), 'key-indexes');
  }

  pathOf(topic: string): string {
    return join(this.dir, `${encodeURIComponent(topic)}.keys`);
  }

  /** The file's bytes, or undefined when there is none. */
  read(topic: string): Buffer | undefined {
    try {
      return readFileSync(this.pathOf(topic));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Replaces the file atomically: a crash leaves the old snapshot or the new one, never a torn one. */
  write(topic: string, bytes: Buffer | readonly Buffer[]): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = this.pathOf(topic);
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      for (const part of Buffer.isBuffer(bytes) ? [bytes] : bytes) for (let at = 0; at < part.length; ) at += writeSync(fd, part, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    try {
      const dirFd = openSync(this.dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    } catch {
      // Some file systems refuse fsync on a directory; the rename is then as durable as they make it.
    }
  }
}
