import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The Dockerfile cannot be built here (no Docker daemon), so it is checked against the repository: two
 * stages on one supported Node LTS, the build stage compiling with the dev tools, the runtime stage
 * holding the production dependencies and dist/ only, as a non-root user, starting the compiled CLI.
 * test/integration/package.test.ts builds and installs the package the runtime stage mirrors.
 */
const repo = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(repo, p), 'utf8');

/** Node release lines with their end of life (nodejs.org/en/about/previous-releases). */
const NODE_LTS_EOL: Record<number, string> = { 22: '2027-04-30', 24: '2028-04-30' };

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Instructions per stage; comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!.trim());
      stages.push({ from: m![1]!, name: m![2], instructions: [] });
    } else {
      expect(stages.length, `${line} before any FROM`).toBeGreaterThan(0);
      stages.at(-1)!.instructions.push({ op: op!.toUpperCase(), args: args!.trim() });
    }
  }
  return stages;
}

const stages = parseDockerfile(read('Dockerfile'));
const build = stages.find((s) => s.name === 'build');
const runtime = stages.at(-1)!;
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).map((i) => i.args);
const ignored = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; engines: { node: string } };

describe('Dockerfile', () => {
  it('has a build stage and a final runtime stage on the same supported Node LTS image', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(runtime.from).toBe(build!.from);
    const m = /^node:(\d+)(?:\.\d+)*-(?:[a-z]+-)?slim$/.exec(runtime.from);
    expect(m, `${runtime.from} is node:<major>-slim`).not.toBeNull();
    const major = Number(m![1]);
    expect(Object.keys(NODE_LTS_EOL).map(Number), `Node ${major} is a supported LTS line`).toContain(major);
    expect(new Date(NODE_LTS_EOL[major]!).getTime(), `Node ${major} reached its end of life`).toBeGreaterThan(Date.now());
    // package.json's engines (>=20.18.1) admit it.
    const min = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(min).not.toBeNull();
    expect(major).toBeGreaterThanOrEqual(Number(min![1]));
  });

  it('the build stage installs everything and compiles; its COPY sources exist and reach the build context', () => {
    const runs = ops(build!, 'RUN');
    expect(runs.some((r) => /^npm ci\b/.test(r) && !/--omit=dev|--production/.test(r)), 'npm ci with the dev tools').toBe(true);
    expect(runs).toContain('npm run build');
    const copied = ops(build!, 'COPY').flatMap((c) => c.split(/\s+/).slice(0, -1));
    for (const src of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'src']) {
      expect(copied, `the build copies ${src}`).toContain(src);
    }
    for (const src of copied) {
      expect(existsSync(join(repo, src)), `COPY ${src}`).toBe(true);
      expect(ignored, `${src} is excluded by .dockerignore`).not.toContain(src);
    }
  });

  it('the runtime stage has production dependencies and dist/ only, runs as a non-root user, starts dist/cli.js', () => {
    expect(ops(runtime, 'RUN').some((r) => /^npm ci\b.*--omit=dev\b/.test(r))).toBe(true);
    expect(ops(runtime, 'ENV')).toContain('NODE_ENV=production');
    const copies = ops(runtime, 'COPY');
    expect(copies).toContain('package.json package-lock.json ./');
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.filter((c) => !['package.json package-lock.json ./', '--from=build /app/dist ./dist'].includes(c)), 'nothing else is copied').toEqual([]);
    const user = ops(runtime, 'USER');
    expect(user.length).toBe(1);
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(ops(runtime, 'WORKDIR')).toEqual(['/app']);
    expect(ops(runtime, 'ENTRYPOINT')).toEqual(['["node", "dist/cli.js"]']);
    expect(ops(runtime, 'CMD')).toEqual(['["run"]']);
  });

  it('the entry point is the compiled src/cli.ts, the same file as the package bin', () => {
    const buildConfig = JSON.parse(read('tsconfig.build.json').replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(buildConfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(join(repo, 'src/cli.ts'))).toBe(true);
    expect(read('src/cli.ts').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(pkg.bin['pipedrive-cdc']).toBe('dist/cli.js');
  });

  it('.dockerignore keeps local state and host builds out of the context', () => {
    for (const p of ['node_modules', '.infra', 'dist', '.git', 'test']) expect(ignored).toContain(p);
  });
});
