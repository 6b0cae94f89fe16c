// Apicurio Registry as a local Java process; clients use its Confluent-compatible API under
// /apis/ccompat/v7. Storage is H2: in memory by default (needs neither Kafka nor a DB, but a restart
// loses every schema and id), or an H2 file in the run dir (`storage: 'file'`), which survives kill() +
// restart() with the same schema ids, for outage tests.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_APICURIO_VERSION, ensureApicurio } from './install.ts';
import { launchReady, prepareRun, type ControllableService } from './launch.ts';
import { httpOk, stablePort, waitReady } from './proc.ts';

export type RegistryStorage = 'memory' | 'file';

export interface LocalRegistry extends ControllableService {
  /** Base URL for Confluent clients, e.g. http://127.0.0.1:PORT/apis/ccompat/v7 */
  url: string;
  version: string;
  storage: RegistryStorage;
  cold: boolean;
}

export interface StartRegistryOptions {
  version?: string;
  /** 'memory' (default) or 'file': an H2 database file that survives a kill + restart. */
  storage?: RegistryStorage;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

/** The Confluent-compatible endpoint below an Apicurio base URL. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

/**
 * The `apicurio.*` properties selecting the storage (names from the 3.3.x jar's application.properties:
 * `apicurio.storage.kind=sql`, `apicurio.storage.sql.kind=h2`, `apicurio.datasource.url` feeding the h2
 * datasource). For a file, H2's WRITE_DELAY=0 makes every commit reach the file before the registry
 * answers: with the default 500 ms, a schema registered just before a SIGKILL would be lost on restart.
 */
export function registryStorageProps(storage: RegistryStorage, dataDir: string): Record<string, string> {
  if (storage === 'memory') return {}; // the jar's default: jdbc:h2:mem:db_<uuid>
  return {
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'h2',
    'apicurio.datasource.url': `jdbc:h2:file:${join(dataDir, 'registry')};WRITE_DELAY=0`,
  };
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<LocalRegistry> {
  const version = opts.version ?? process.env.APICURIO_VERSION ?? DEFAULT_APICURIO_VERSION;
  const storage = opts.storage ?? 'memory';
  const install = await ensureApicurio(version);
  const runDir = await prepareRun(`registry-${version}`, opts.log);
  const dataDir = join(runDir, 'data');
  if (storage === 'file') mkdirSync(dataDir);
  // Below the ephemeral range, so a restart after kill() finds them free (see stablePort).
  const [httpPort, mgmtPort] = [await stablePort(), await stablePort()];
  const props = {
    'quarkus.http.host': '127.0.0.1',
    'quarkus.http.port': String(httpPort),
    // The management interface (health, metrics) otherwise takes the fixed port 9000, which would clash
    // between a demo and a test run.
    'quarkus.management.host': '127.0.0.1',
    'quarkus.management.port': String(mgmtPort),
    // Tests clean up their own subjects; Apicurio refuses deletes unless these are on.
    'apicurio.rest.deletion.group.enabled': 'true',
    'apicurio.rest.deletion.artifact.enabled': 'true',
    'apicurio.rest.deletion.artifact-version.enabled': 'true',
    // One log line per request would make the log grow with every test; start-up and errors are enough.
    'quarkus.http.access-log.enabled': 'false',
    ...registryStorageProps(storage, dataDir),
    // Marks the process for the orphan sweep (the jar path alone is shared by every run).
    'pipedrive.cdc.run': runDir,
  };
  const sysProps = Object.entries(props).map(([k, v]) => `-D${k}=${v}`);
  const base = `http://127.0.0.1:${httpPort}`;
  const svc = await launchReady({
    service: 'registry',
    runDir,
    cmd: install.java,
    // SerialGC + C1 only: the registry is idle most of the time, and this keeps start-up and RSS down on 2 cores.
    args: ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:+ExitOnOutOfMemoryError', ...sysProps, '-jar', install.jar],
    marker: runDir,
    dirs: storage === 'file' ? [dataDir] : [],
    ready: (pid, logFile) =>
      waitReady(`Apicurio Registry ${version}`, () => httpOk(`${base}${CCOMPAT_PATH}/subjects`), { timeoutMs: opts.readyTimeoutMs ?? 180_000, pid, logFile }),
  });
  // Object.assign onto svc (not a spread) keeps its pid/state getters live across restarts.
  return Object.assign(svc, { url: `${base}${CCOMPAT_PATH}`, version, storage, cold: install.cold });
}
