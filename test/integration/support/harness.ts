import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel } from 'kafkajs';

/** Endpoints of the real services started by test/infra/global-setup.ts. */
export function services(): { brokers: string[]; registryUrl: string; databaseUrl: string } {
  const brokers = process.env.KAFKA_BROKERS;
  const registryUrl = process.env.SCHEMA_REGISTRY_URL;
  const databaseUrl = process.env.DATABASE_URL;
  if (!brokers || !registryUrl || !databaseUrl) {
    throw new Error('KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL must be set (test/infra/global-setup.ts sets them)');
  }
  return { brokers: brokers.split(','), registryUrl, databaseUrl };
}

/** A fresh name so tests sharing one broker, registry and database never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export interface ConsumedRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: unknown;
  readonly value: unknown;
  /** The record's headers (raw bytes). */
  readonly headers?: Readonly<Record<string, Buffer>>;
}

/**
 * Reads a whole topic with a plain kafkajs consumer and decodes keys and values through the registry
 * client, independently of the product's code. Null values stay null (tombstones).
 */
export async function readTopic(
  topic: string,
  opts: { readUncommitted?: boolean; decode?: boolean; /** another broker and registry than the shared ones (outage tests) */ endpoints?: { brokers: string[]; registryUrl: string } } = {},
): Promise<ConsumedRecord[]> {
  const { brokers, registryUrl } = opts.endpoints ?? services();
  const kafka = new Kafka({ clientId: 'test-reader', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const pending = new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  const raw: Array<{ partition: number; offset: bigint; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }> = [];
  if (pending.size > 0) {
    const consumer = kafka.consumer({ groupId: uniqueName('test-reader'), readUncommitted: opts.readUncommitted ?? false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolveDone, reject) => {
      const timer = setTimeout(() => reject(new Error(`readTopic ${topic}: not at the end after 60 s; waiting for ${JSON.stringify([...pending].map(([p, o]) => [p, String(o)]))}`)), 60_000);
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        const target = pending.get(e.payload.partition);
        if (target !== undefined && BigInt(e.payload.lastOffset) >= target) pending.delete(e.payload.partition);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolveDone();
        }
      });
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).flatMap(([k, v]) => (Buffer.isBuffer(v) ? [[k, v]] : [])));
            raw.push({ partition, offset: BigInt(message.offset), key: message.key, value: message.value, headers });
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
  }
  if (opts.decode === false) return raw.map((r) => ({ ...r, key: r.key, value: r.value, headers: r.headers }));
  const registry = new SchemaRegistry({ host: registryUrl });
  const out: ConsumedRecord[] = [];
  for (const r of raw) {
    out.push({
      partition: r.partition,
      offset: r.offset,
      key: r.key ? await registry.decode(r.key) : null,
      value: r.value ? await registry.decode(r.value) : null,
      headers: r.headers,
    });
  }
  return out;
}

export const repo = resolve(import.meta.dirname, '../../..');

export interface CliRun {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the exit code, or the signal name when killed. */
  readonly exit: Promise<number | string>;
  waitForLine(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/**
 * The command line from the sources (`npm run dev`): tests need no build. test/integration/package.test.ts
 * runs the built package instead.
 */
export const DEV_CLI = [process.execPath, '--import', tsxLoader(), resolve(repo, 'src/cli.ts')] as const;

/** tsx's `--import` entry as a file URL, so the CLI runs from any working directory. */
function tsxLoader(): string {
  const dir = resolve(repo, 'node_modules/tsx');
  const { exports } = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8')) as { exports: { '.': string } };
  return pathToFileURL(resolve(dir, exports['.'])).href;
}

/** Runs `pipedrive-cdc <args>` as its own process (so a test can kill it like a crash would). */
export function runCli(args: string[], env: Record<string, string>): CliRun {
  return watchCli(spawn(DEV_CLI[0], [...DEV_CLI.slice(1), ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
}

/** Collects a spawned CLI's stdout and stderr lines; `waitForLine` finds JSON log lines among them. */
export function watchCli(child: ChildProcess): CliRun {
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  const onData = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | string>((r) => child.on('exit', (code, signal) => r(code ?? signal ?? -1)));
  return {
    child,
    lines,
    exit,
    async waitForLine(pred, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = 0;
      for (;;) {
        for (; seen < lines.length; seen++) {
          const parsed = parseJsonLine(lines[seen]!);
          if (parsed && pred(parsed)) return parsed;
        }
        if (Date.now() > deadline) throw new Error(`no matching line in ${timeoutMs} ms; output:\n${lines.slice(-30).join('\n')}`);
        const exited = await Promise.race([
          new Promise<boolean>((r) => waiters.push(() => r(false))),
          exit.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 250)),
        ]);
        if (exited && seen >= lines.length) {
          throw new Error(`process exited before a matching line; output:\n${lines.slice(-30).join('\n')}`);
        }
      }
    },
  };
}

/** `pipedrive-cdc run --once` to its end: the exit code, the output, and its JSON log lines. */
export async function runOnce(env: Record<string, string>): Promise<{ code: number | string; lines: string[]; events: Array<Record<string, unknown>> }> {
  const run = runCli(['run', '--once'], env);
  const code = await run.exit;
  return { code, lines: run.lines, events: run.lines.map(parseJsonLine).filter((l) => l !== null) };
}

export function parseJsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

let stateDir: string | undefined;
function testStateDir(): string {
  return (stateDir ??= mkdtempSync(join(tmpdir(), 'pcdc-state-')));
}

/** The settings a producer or sink needs to run against a local Pipedrive and the test's Kafka and registry. */
export function pipelineEnv(sim: { baseUrl: string; token: string }, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PIPEDRIVE_BASE_URL: sim.baseUrl,
    PIPEDRIVE_API_TOKEN: sim.token,
    KAFKA_BROKERS: services().brokers.join(','),
    SCHEMA_REGISTRY_URL: services().registryUrl,
    TOPIC_PREFIX: prefix,
    CONNECTOR_NAME: prefix,
    // Key index snapshots of test connectors go to a temporary directory, not the user's ~/.local/state.
    STATE_DIR: testStateDir(),
    // Rounds every POLL_INTERVAL_MS, as the tests' timing expects: the local Pipedrive's default budget is a
    // Lite plan's with one seat, whose 10 % would space rounds minutes apart. Pacing has its own tests.
    TOKEN_BUDGET_SHARE: 'off',
    ...extra,
  };
}

/** A TCP port free on 127.0.0.1 right now (for a server the test starts later, e.g. a webhook receiver). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Waits until `ok` holds, checking every `stepMs`; fails naming `what` after `ms`. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000, stepMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
