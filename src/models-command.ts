/**
 * `pipedrive-cdc models`: the dbt project in dbt/ (docs/MODELS.md) over the sink's tables. `models install`
 * puts the pinned toolchain (dbt/requirements.txt) into a virtual environment under the cache folder;
 * `models [dbt command …]` (default `build`: models and their tests) runs it against the sink the
 * configuration names — DuckDB (the sink file attached read-only, the models in a file beside it) or
 * PostgreSQL (the models in their own schema). The password reaches dbt through PGPASSWORD, never argv.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, type SinkConfig } from './config.ts';
import { loadSinkConfigFrom } from './config-file.ts';
import { cacheDir, repoRoot } from './infra/paths.ts';

export const DBT_PROJECT_DIR = join(repoRoot, 'dbt');
const REQUIREMENTS = join(DBT_PROJECT_DIR, 'requirements.txt');

const HELP = `pipedrive-cdc models [--config FILE] [install | DBT_COMMAND [ARGS…]]
  install        create <cache>/dbt-venv and install dbt/requirements.txt (dbt-core, dbt-duckdb, dbt-postgres; pinned)
  DBT_COMMAND    any dbt command (default: build — every model and its tests), e.g. run, test, show --select pipedrive__sales_funnel
  --config FILE  the sink's settings (as for \`pipedrive-cdc sink\`); the environment overrides them
The target follows SINK_DESTINATION: duckdb (models written to DBT_DUCKDB_PATH, default <DUCKDB_PATH>.models.duckdb;
the sink file is attached read-only) or postgres (models in DBT_SCHEMA, default <DATABASE_SCHEMA>_models).
Needs python3 (3.9+) for install; the cache folder is PIPEDRIVE_CDC_CACHE (default <repo>/.infra).
`;

/** The virtual environment holding dbt. */
export function dbtVenv(): string {
  return join(cacheDir(), 'dbt-venv');
}

export function dbtExecutable(): string {
  return join(dbtVenv(), 'bin', 'dbt');
}

/** A hash of dbt/requirements.txt, stamped into the venv once they are installed. */
const requirementsHash = () => createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
const stampFile = () => join(dbtVenv(), '.pipedrive-cdc-requirements');

/** True when the venv holds dbt with exactly today's pinned requirements. */
export function dbtInstalled(): boolean {
  return existsSync(dbtExecutable()) && existsSync(stampFile()) && readFileSync(stampFile(), 'utf8') === requirementsHash();
}

/** The install's steps: a venv (unless there is one), then pip with the pinned requirements. */
function installSteps(): Array<{ cmd: string; args: string[]; what: string; say: string }> {
  const venv = dbtVenv();
  return [
    ...(existsSync(join(venv, 'bin', 'python')) ? [] : [{ cmd: 'python3', args: ['-m', 'venv', venv], what: 'python3 -m venv', say: `models: creating ${venv}` }]),
    { cmd: join(venv, 'bin', 'python'), args: ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS], what: 'pip install', say: `models: installing ${REQUIREMENTS}` },
  ];
}

const installError = (what: string, detail: string) => new ConfigError(`models install: ${what} ${detail}`);
const NO_PYTHON = '(install Python 3.9+ with venv, e.g. apt-get install python3-venv)';

/** Creates the venv and installs the pinned requirements; does nothing when they are installed already (cold: false). */
export function installDbt(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): { cold: boolean } {
  if (dbtInstalled()) return { cold: false };
  for (const step of installSteps()) {
    log(step.say);
    const r = spawnSync(step.cmd, step.args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.error) throw installError(step.what, `: ${r.error.message} ${NO_PYTHON}`);
    if (r.status !== 0) throw installError(step.what, `failed (exit ${r.status}); see the output above`);
  }
  writeFileSync(stampFile(), requirementsHash());
  return { cold: true };
}

/**
 * installDbt() without blocking the event loop and with the tools' output kept (the demo runs it beside the
 * sync); a failure's error carries the output's tail.
 */
export async function installDbtInBackground(): Promise<{ cold: boolean }> {
  if (dbtInstalled()) return { cold: false };
  for (const step of installSteps()) {
    await new Promise<void>((resolveStep, reject) => {
      const child = spawn(step.cmd, step.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', (e) => reject(installError(step.what, `: ${e.message} ${NO_PYTHON}`)));
      child.on('exit', (code) => (code === 0 ? resolveStep() : reject(installError(step.what, `failed (exit ${code}): ${out.trim().split('\n').slice(-5).join(' | ')}`))));
    });
  }
  writeFileSync(stampFile(), requirementsHash());
  return { cold: true };
}

/** The environment dbt's profile (dbt/profiles.yml) reads for this sink. */
export function dbtEnv(config: SinkConfig, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (config.naming !== 'native') {
    throw new ConfigError('SINK_NAMING: the models read the sink\'s native names; run them on a sink with SINK_NAMING=native (the default)');
  }
  const out: Record<string, string> = { DBT_SEND_ANONYMOUS_USAGE_STATS: 'false', DO_NOT_TRACK: '1' };
  if (config.destination === 'duckdb') {
    const sinkFile = resolve(config.duckdbPath);
    return {
      ...out,
      DBT_TARGET: 'duckdb',
      PIPEDRIVE_DUCKDB_PATH: sinkFile,
      DBT_DUCKDB_PATH: base.DBT_DUCKDB_PATH ?? join(dirname(sinkFile), `${sinkFile.split('/').pop()!.replace(/\.duckdb$/, '')}.models.duckdb`),
      PIPEDRIVE_SOURCE_DATABASE: 'pipedrive',
      PIPEDRIVE_SOURCE_SCHEMA: 'main',
    };
  }
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL: required when SINK_DESTINATION=postgres');
  let url: URL;
  try {
    url = new URL(config.databaseUrl);
  } catch {
    throw new ConfigError('DATABASE_URL: not a URL (postgres://user:password@host:5432/db)');
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  return {
    ...out,
    DBT_TARGET: 'postgres',
    PGHOST: url.hostname || 'localhost',
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username) || 'postgres',
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: database,
    ...(url.searchParams.get('sslmode') ? { PGSSLMODE: url.searchParams.get('sslmode')! } : {}),
    PIPEDRIVE_SOURCE_DATABASE: database,
    PIPEDRIVE_SOURCE_SCHEMA: config.databaseSchema,
    DBT_SCHEMA: base.DBT_SCHEMA ?? `${config.databaseSchema}_models`,
  };
}

/** Runs dbt in dbt/ with the sink's environment; resolves to its exit code. */
export function runDbt(config: SinkConfig, dbtArgs: readonly string[], opts: { env?: NodeJS.ProcessEnv; stdio?: 'inherit' | 'pipe' } = {}) {
  const base = opts.env ?? process.env;
  const env = { ...base, ...dbtEnv(config, base) };
  if (!existsSync(dbtExecutable())) throw new ConfigError(`models: dbt is not installed in ${dbtVenv()}; run \`pipedrive-cdc models install\` (or npm run models:install) first`);
  const args = [...(dbtArgs.length > 0 ? dbtArgs : ['build']), '--project-dir', DBT_PROJECT_DIR, '--profiles-dir', DBT_PROJECT_DIR];
  return spawn(dbtExecutable(), args, { env, stdio: opts.stdio ?? 'inherit', cwd: DBT_PROJECT_DIR });
}

export async function runModelsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help && positionals.length === 0) {
    process.stdout.write(HELP);
    return 0;
  }
  const rest = argv.filter((a, i) => a !== '--config' && argv[i - 1] !== '--config' && !a.startsWith('--config='));
  if (rest[0] === 'install') {
    installDbt();
    process.stderr.write(`models: dbt is installed in ${dbtVenv()}\n`);
    return 0;
  }
  const config = loadSinkConfigFrom(typeof values.config === 'string' ? values.config : undefined);
  const child = runDbt(config, rest);
  return new Promise((resolveCode) => {
    child.on('error', (e) => {
      process.stderr.write(`models: could not start dbt: ${e.message}\n`);
      resolveCode(1);
    });
    child.on('exit', (code) => resolveCode(code ?? 1));
  });
}
