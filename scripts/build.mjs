#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` and `npm pack` build too): compiles src/ to dist/ with
// tsconfig.build.json, then copies the files the compiled code reads at run time next to it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files read at run time relative to the module that reads them (src/x → dist/x). */
export const RUNTIME_ASSETS = [
  // the simulator's token prices (src/simulator/http/rate-limit-costs.ts, COSTS_JSON_PATH)
  'simulator/token-costs.json',
];

function build() {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  for (const asset of RUNTIME_ASSETS) {
    mkdirSync(dirname(join(root, 'dist', asset)), { recursive: true });
    copyFileSync(join(root, 'src', asset), join(root, 'dist', asset));
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) build();
