import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTopic, services, uniqueName, watchCli, type CliRun } from './support/harness.ts';

/**
 * The package as users get it: `npm pack` (which builds dist/ through `prepare`), the tarball installed
 * into an empty folder with production dependencies only, from the npm registry, and the installed
 * `pipedrive-cdc` run there with no tsx, TypeScript or other devDependency on disk: `--help`, `sim`
 * (started, answering an API request, stopped) and `run --once` against that sim and the shared Kafka
 * and registry. Also the Docker image's runtime stage as far as it goes without Docker: `npm ci
 * --omit=dev --ignore-scripts` from the lockfile plus dist/, started as the image's ENTRYPOINT does.
 *
 * Downloads are cached in <repo>/.cache/npm (ignored by git); everything else lives in a temp folder.
 */
const repo = resolve(import.meta.dirname, '../..');
const exec = promisify(execFile);
const npmCache = join(repo, '.cache', 'npm');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/**
 * An environment without the test runner's: no NODE_OPTIONS (it could load tsx), no NODE_PATH, no npm
 * project settings. Kept: what reaching the registry may need (proxy, extra CA certificates).
 */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = (k: string) =>
    ['PATH', 'HOME', 'LANG', 'TMPDIR', 'TZ', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'].includes(k) ||
    /^(https?_proxy|no_proxy|npm_config_(cafile|ca|registry|proxy|https_proxy|noproxy|strict_ssl))$/i.test(k);
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && keep(k)) as Array<[string, string]>), ...extra };
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await exec('npm', [...args, '--cache', npmCache, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env: cleanEnv(),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 180_000, // a registry that does not answer fails the test with npm's output, not a hook timeout
  });
  return stdout;
}

/** Every installed package (name → package.json) anywhere below `dir`/node_modules. */
function installedPackages(dir: string): Array<{ name: string; path: string; dependencies: Record<string, string> }> {
  const out: Array<{ name: string; path: string; dependencies: Record<string, string> }> = [];
  const scan = (nm: string) => {
    if (!existsSync(nm)) return;
    for (const entry of readdirSync(nm)) {
      if (entry.startsWith('.')) continue;
      const dirs = entry.startsWith('@') ? readdirSync(join(nm, entry)).map((e) => join(nm, entry, e)) : [join(nm, entry)];
      for (const d of dirs) {
        const file = join(d, 'package.json');
        if (!existsSync(file)) continue;
        const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
        out.push({ name: manifest.name, path: d, dependencies: { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies } });
        scan(join(d, 'node_modules'));
      }
    }
  };
  scan(join(dir, 'node_modules'));
  return out;
}

describe('the published package', () => {
  let tmp: string;
  let tarball: string;
  let packed: string[];
  let app: string;
  let cli: string;
  const timings: Record<string, number> = {};
  const timed = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[label] = Math.round(performance.now() - t0);
    }
  };
  const running: CliRun[] = [];
  const start = (args: string[], env: Record<string, string> = {}) => {
    const run = watchCli(spawn(process.execPath, [cli, ...args], { cwd: app, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
    running.push(run);
    return run;
  };

  beforeAll(async () => {
    mkdirSync(npmCache, { recursive: true });
    tmp = mkdtempSync(join(tmpdir(), 'pipedrive-cdc-pack-'));
    expect(relative(repo, tmp).startsWith('..'), 'the install folder is outside the repository').toBe(true);
    const [info] = await timed('npm pack (with the build)', async () =>
      JSON.parse(await npm(['pack', '--json', '--pack-destination', tmp], repo)) as Array<{ filename: string; files: Array<{ path: string }> }>,
    );
    tarball = join(tmp, info!.filename);
    packed = info!.files.map((f) => f.path);
    app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-test', private: true }));
    await timed('npm install --omit=dev <tarball>', () => npm(['install', '--omit=dev', tarball], app));
    cli = join(app, 'node_modules', pkg.name, pkg.bin['pipedrive-cdc']!);
  }, 300_000);

  afterAll(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exit));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`package test timings (ms): ${JSON.stringify(timings)}`);
  });

  it('ships dist/, the runtime files and the ops config; no sources, tests, benchmarks, specs or installers', () => {
    expect(packed).toContain('package.json');
    expect(packed).toContain('README.md');
    expect(packed).toContain(pkg.bin['pipedrive-cdc']);
    // Files the code reads at run time, next to the compiled module that reads them.
    expect(packed).toContain('dist/simulator/token-costs.json');
    for (const f of ['test/infra/kafka/log4j.properties', 'test/infra/kafka/log4j2.properties', 'test/infra/kafka/pom.xml']) expect(packed).toContain(f); // the demo's local Kafka
    expect(packed).toContain('grafana/dashboards/pipedrive-cdc.json');
    expect(packed).toContain('deploy/prometheus.yml');
    const unwanted = packed.filter(
      (f) =>
        /^(src|bench|spec|scripts|\.infra|\.cache|\.ci|node_modules)\//.test(f) ||
        (f.startsWith('test/') && !f.startsWith('test/infra/kafka/')) ||
        /\.test\.|\.ts$/.test(f) ||
        /^(Dockerfile|docker-compose\.yml|tsconfig.*\.json|vitest\.config\.ts|eslint\.config\.js|package-lock\.json)$/.test(f),
    );
    expect(unwanted).toEqual([]);
    // Every source module is compiled (the simulator's generator tool excepted: a dev tool).
    const sources = readdirSync(join(repo, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.startsWith('simulator/tools/'));
    const missing = sources.map((f) => `dist/${f.replace(/\.ts$/, '.js')}`).filter((f) => !packed.includes(f));
    expect(missing).toEqual([]);
  });

  it('the installed tree has no tsx, TypeScript or other devDependency', () => {
    const installed = installedPackages(app);
    const names = new Set(installed.map((p) => p.name));
    expect(names).toContain(pkg.name);
    for (const dep of Object.keys(pkg.dependencies)) expect(names, `production dependency ${dep}`).toContain(dep);
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', 'eslint', 'testcontainers']) expect(names, dev).not.toContain(dev);
    // A devDependency may only be there as some production package's own dependency.
    for (const dev of Object.keys(pkg.devDependencies)) {
      if (!names.has(dev)) continue;
      const needers = installed.filter((p) => p.name !== pkg.name && dev in p.dependencies).map((p) => p.name);
      expect(needers, `${dev} is installed; some production package must need it`).not.toEqual([]);
    }
  });

  it('`pipedrive-cdc --help` runs from node_modules/.bin', async () => {
    const { stdout } = await timed('pipedrive-cdc --help', () => exec(join(app, 'node_modules', '.bin', 'pipedrive-cdc'), ['--help'], { cwd: app, env: cleanEnv() }));
    expect(stdout).toContain('Usage: pipedrive-cdc <command>');
    for (const c of ['demo', 'run', 'sink', 'sim']) expect(stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('`sim` answers the API; `run --once` publishes its deals to Kafka; SIGTERM stops the sim', async () => {
    const token = 'pack-test-token';
    const sim = start(['sim', '--port', '0', '--seed', '7', '--token', token, '--deals', '25']);
    const baseUrl = await timed('sim start', async () => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        const m = sim.lines.map((l) => /listening on (http:\/\/\S+)/.exec(l)).find(Boolean);
        if (m) return m[1]!;
        if (sim.child.exitCode !== null) break;
      }
      throw new Error(`sim did not start:\n${sim.lines.join('\n')}`);
    });
    const res = await fetch(`${baseUrl}/api/v2/deals?limit=100`, { headers: { 'x-api-token': token } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; data: Array<{ id: number }> };
    expect(body.success).toBe(true);
    expect(body.data).toHaveLength(25);

    const prefix = uniqueName('pack');
    const { brokers, registryUrl } = services();
    const run = start(['run', '--once'], {
      PIPEDRIVE_BASE_URL: baseUrl,
      PIPEDRIVE_API_TOKEN: token,
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      TOPIC_PREFIX: prefix,
      CONNECTOR_NAME: prefix,
      TABLES: 'deal',
      METRICS_PORT: '0',
    });
    const code = await timed('run --once (TABLES=deal, 25 deals)', () => run.exit);
    expect(code, run.lines.slice(-30).join('\n')).toBe(0);
    const records = await readTopic(`${prefix}.deal`);
    expect(new Set(records.map((r) => (r.key as { id: number }).id))).toEqual(new Set(body.data.map((d) => d.id)));

    sim.child.kill('SIGTERM');
    expect(await sim.exit).toBe(0);
    expect(sim.lines).toContain('Pipedrive simulator stopped');
  });

  it("the Docker image's runtime stage, without Docker: npm ci --omit=dev --ignore-scripts from the lockfile, dist/, node dist/cli.js", async () => {
    const image = join(tmp, 'image');
    mkdirSync(image);
    cpSync(join(repo, 'package.json'), join(image, 'package.json'));
    cpSync(join(repo, 'package-lock.json'), join(image, 'package-lock.json'));
    await timed('npm ci --omit=dev --ignore-scripts (lockfile)', () => npm(['ci', '--omit=dev', '--ignore-scripts'], image));
    cpSync(join(app, 'node_modules', pkg.name, 'dist'), join(image, 'dist'), { recursive: true });
    const names = new Set(installedPackages(image).map((p) => p.name));
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', 'eslint', 'testcontainers']) expect(names, dev).not.toContain(dev);
    const { stdout } = await exec(process.execPath, ['dist/cli.js', 'sim', '--help'], { cwd: image, env: cleanEnv({ NODE_ENV: 'production' }) });
    expect(stdout).toContain('Usage: pipedrive-cdc sim');
    // The sink's native DuckDB binding loads from the production install.
    const { stdout: duck } = await exec(process.execPath, ['--input-type=module', '-e', "const { DuckDBInstance } = await import('@duckdb/node-api'); const c = await (await DuckDBInstance.create(':memory:')).connect(); console.log((await c.runAndReadAll('select 42 as n')).getRowObjectsJS()[0].n)"], { cwd: image, env: cleanEnv() });
    expect(duck.trim()).toBe('42');
  });
});
