/**
 * Key index snapshots: a local cache of a topic's KeyIndex, so a restart reads only the records written after
 * the snapshot instead of every key of every indexed topic (a million deals took tens of seconds and most of
 * the restart's memory). The compacted topic stays the truth; a snapshot is used only when it provably
 * describes a prefix of the topic as it is now — the same Kafka cluster, the same partitions, each saved
 * position within the partition's [log start, end] — and then the read starts at the saved positions.
 * Anything else (no file, another cluster, a topic recreated, a torn or foreign file, another format) means
 * a full read, as before; never a wrong index. Like Kafka Streams' state stores with their checkpoint file.
 *
 * The file: 8 magic bytes, a 4-byte header length, the JSON header, then the index's arrays (flags, times,
 * hash halves, numeric ids) and a JSON tail (string ids, odd hashes). The header holds the body's SHA-256.
 * Written atomically (temp file, fsync, rename), 0600: keys are record keys (ids), never row values, and
 * indexes whose key holds a hashed column are not snapshotted at all (they hold clear keys in memory).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TableSpec } from '../catalog/types.ts';
import { KeyIndex } from './key-index.ts';

const MAGIC = Buffer.from('PDCKIDX1', 'latin1');
const FORMAT = 1;

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
  readonly bodySha256: string;
}

export interface Snapshot {
  readonly index: KeyIndex;
  readonly positions: Positions;
}

/** Why a snapshot was not used (logged; a full read follows). */
export class SnapshotUnusable extends Error {}

export function encodeSnapshot(index: KeyIndex, meta: { connector: string; topic: string; clusterId: string; positions: Positions; now?: Date }): Buffer {
  const state = index.exportState();
  const n = state.ids.length;
  const numericIds = new Float64Array(n).fill(Number.NaN);
  const stringIds: Array<[number, string]> = [];
  state.ids.forEach((id, slot) => (typeof id === 'number' ? (numericIds[slot] = id) : stringIds.push([slot, id])));
  const pad = (8 - (n % 8)) % 8;
  const tail = Buffer.from(JSON.stringify({ stringIds, odd: state.odd }), 'utf8');
  const parts = [
    Buffer.from(state.flags.buffer, state.flags.byteOffset, n),
    Buffer.alloc(pad),
    ...[state.times, state.hashHi, state.hashLo, numericIds].map((a) => Buffer.from(a.buffer, a.byteOffset, n * 8)),
    tail,
  ];
  const body = Buffer.concat(parts);
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
    bodySha256: createHash('sha256').update(body).digest('hex'),
  };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  return Buffer.concat([MAGIC, len, head, body]);
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
  const body = bytes.subarray(12 + headLen);
  if (createHash('sha256').update(body).digest('hex') !== header.bodySha256) throw new SnapshotUnusable('checksum mismatch (damaged file)');
  const n = header.slots;
  const pad = (8 - (n % 8)) % 8;
  const floats = (i: number) => {
    const start = n + pad + i * n * 8;
    const copy = Buffer.from(body.subarray(start, start + n * 8)); // aligned copy
    return new Float64Array(copy.buffer, copy.byteOffset, n);
  };
  const tailAt = n + pad + 4 * n * 8;
  const tail = JSON.parse(body.subarray(tailAt).toString('utf8')) as { stringIds: Array<[number, string]>; odd: Array<[number, string]> };
  const numericIds = floats(3);
  const ids: Array<string | number> = Array.from(numericIds);
  for (const [slot, id] of tail.stringIds) ids[slot] = id;
  const index = KeyIndex.fromState(spec, { ids, flags: Uint8Array.from(body.subarray(0, n)), times: floats(0), hashHi: floats(1), hashLo: floats(2), odd: tail.odd });
  return { index, positions: saved };
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
  write(topic: string, bytes: Buffer): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = this.pathOf(topic);
    const tmp = `${path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
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
