/**
 * Where a connector's runtime settings live in Kafka: `<prefix>._config`, compacted, one record under the
 * key `["<connector>","settings"]` whose last value is the settings in force; and `<prefix>._audit`, one
 * record per change, never compacted and kept forever. Both are written in one transaction by a
 * transactional producer of their own (`<connector>.settings`): a settings change never fences the data
 * producer (`<connector>.producer`), and a change is in the config topic exactly when its audit record is.
 * The values are JSON the settings store (src/connector-settings.ts) gives and validates; this file only
 * moves them.
 */
import type { ProducerKafka, TopicSpec } from './kafka.ts';

export interface SettingsLog {
  /**
   * The connector's last settings value, or undefined before the first change. `via`: a connection the
   * caller has anyway (the data producer's, at a session start), instead of the log's own.
   */
  readSettings(via?: Pick<ProducerKafka, 'readCompacted'>): Promise<unknown>;
  /** Every audit record of the connector, oldest first. */
  readAudit(): Promise<unknown[]>;
  /** The new settings and their audit record, in one Kafka transaction. */
  write(settings: unknown, audit: unknown): Promise<void>;
  close(): Promise<void>;
}

export interface SettingsLogOptions {
  readonly topicPrefix: string;
  readonly connector: string;
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number;
  /** Connects a transactional producer with the id `<connector>.settings` (connecting fences an older one). */
  readonly connect: (transactionalId: string) => Promise<ProducerKafka>;
}

export function configTopic(topicPrefix: string): string {
  return `${topicPrefix}._config`;
}

export function auditTopic(topicPrefix: string): string {
  return `${topicPrefix}._audit`;
}

/** The settings log over Kafka; connects on first use and again after any failure. */
export function kafkaSettingsLog(opts: SettingsLogOptions): SettingsLog {
  const config = configTopic(opts.topicPrefix);
  const audit = auditTopic(opts.topicPrefix);
  const settingsKey = JSON.stringify([opts.connector, 'settings']);
  const durability = { replicationFactor: opts.replicationFactor, minInsyncReplicas: opts.minInsyncReplicas };
  const topics: TopicSpec[] = [
    { topic: config, partitions: 1, compacted: true, ...durability },
    // One partition keeps the audit in order; -1: an audit trail is not aged out by the broker's default.
    { topic: audit, partitions: 1, compacted: false, retentionMs: -1, ...durability },
  ];
  // Connected on first use, not at start: most producers never change a setting (reading needs no topic).
  let connected: Promise<ProducerKafka> | undefined;
  const kafka = (): Promise<ProducerKafka> => (connected ??= opts.connect(`${opts.connector}.settings`));
  let created = false;
  /** Runs `op`; after a failure the connection is dropped, so the next call starts from a clean one. */
  const use = async <T>(op: (k: ProducerKafka) => Promise<T>): Promise<T> => {
    try {
      return await op(await kafka());
    } catch (err) {
      const dropped = connected;
      connected = undefined;
      await dropped?.then((k) => k.close()).catch(() => undefined);
      throw err;
    }
  };
  return {
    async readSettings(via) {
      const read = async (k: Pick<ProducerKafka, 'readCompacted'>) => {
        const value = (await k.readCompacted(config)).get(settingsKey);
        return value ? (JSON.parse(value.toString('utf8')) as unknown) : undefined;
      };
      return via ? read(via) : use(read);
    },
    readAudit: () =>
      use(async (k) => {
        const out: unknown[] = [];
        // Audit keys are unique (connector, time, sequence), so the map holds every record in offset order.
        for (const [key, value] of await k.readCompacted(audit)) {
          if (!value || !key.startsWith(`${JSON.stringify([opts.connector]).slice(0, -1)},`)) continue;
          out.push(JSON.parse(value.toString('utf8')) as unknown);
        }
        return out;
      }),
    write: (settings, entry) =>
      use(async (k) => {
        if (!created) await k.ensureTopics(topics);
        created = true;
        await k.writeTransaction([
          { topic: config, key: Buffer.from(settingsKey, 'utf8'), value: Buffer.from(JSON.stringify(settings), 'utf8') },
          { topic: audit, key: Buffer.from(JSON.stringify([opts.connector, new Date().toISOString(), nextSequence()]), 'utf8'), value: Buffer.from(JSON.stringify(entry), 'utf8') },
        ]);
      }),
    async close() {
      const k = connected;
      connected = undefined;
      await k?.then((x) => x.close()).catch(() => undefined);
    },
  };
}

let sequence = 0;
/** Distinguishes two audit records of the same millisecond (with the process id, across processes too). */
function nextSequence(): string {
  return `${process.pid}-${++sequence}`;
}
