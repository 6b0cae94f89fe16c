// Apicurio Registry (in-memory H2 storage, so it needs neither Kafka nor a DB) as a local Java process;
// clients use its Confluent-compatible API under /apis/ccompat/v7.
import { DEFAULT_APICURIO_VERSION, ensureApicurio } from './install.ts';
import { launch, prepareRun, type LocalService } from './launch.ts';
import { freePort, httpOk, waitReady } from './proc.ts';

export interface LocalRegistry extends LocalService {
  /** Base URL for Confluent clients, e.g. http://127.0.0.1:PORT/apis/ccompat/v7 */
  url: string;
  version: string;
  cold: boolean;
}

export interface StartRegistryOptions {
  version?: string;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

/** The Confluent-compatible endpoint below an Apicurio base URL. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<LocalRegistry> {
  const version = opts.version ?? process.env.APICURIO_VERSION ?? DEFAULT_APICURIO_VERSION;
  const install = await ensureApicurio(version);
  const runDir = await prepareRun(`registry-${version}`, opts.log);
  const [httpPort, mgmtPort] = [await freePort(), await freePort()];
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
    // Marks the process for the orphan sweep (the jar path alone is shared by every run).
    'pipedrive.cdc.run': runDir,
  };
  const sysProps = Object.entries(props).map(([k, v]) => `-D${k}=${v}`);
  const svc = launch({
    service: 'registry',
    runDir,
    cmd: install.java,
    // SerialGC + C1 only: the registry is idle most of the time, and this keeps start-up and RSS down on 2 cores.
    args: ['-Xms64m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:+ExitOnOutOfMemoryError', ...sysProps, '-jar', install.jar],
    marker: runDir,
  });
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await waitReady(`Apicurio Registry ${version}`, () => httpOk(`${base}${CCOMPAT_PATH}/subjects`), {
      timeoutMs: opts.readyTimeoutMs ?? 180_000,
      pid: svc.pid,
      logFile: svc.logFile,
    });
  } catch (e) {
    await svc.stop();
    throw e;
  }
  return { ...svc, url: `${base}${CCOMPAT_PATH}`, version, cold: install.cold };
}
