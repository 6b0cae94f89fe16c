/**
 * A clone placed in any folder, with nothing beside it, runs the whole suite: no file of the product, its
 * tests or benchmarks may point outside the repository (an absolute machine path, or a sibling folder).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SCANNED = ['src', 'test', 'bench', 'spec', '.ci', 'bin', 'package.json', 'vitest.config.ts', 'tsconfig.json', 'docker-compose.yml', 'Dockerfile'];
const TEXT = /\.(ts|mts|js|mjs|json|md|sh|ya?ml|properties|xml)$|^(run|Dockerfile)$/;
// Built from parts so this file does not match itself.
const OUTSIDE = new RegExp(['\\.\\./', 'shared', '|', '[\'"`]/', 'work/', '|', '[\'"`]/', 'home/', '|', '[\'"`]/', 'root/'].join(''));

function* files(path: string): Generator<string> {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isFile()) {
    yield path;
    return;
  }
  for (const name of readdirSync(path)) {
    if (name === 'node_modules' || name === '.infra' || name === 'dist') continue;
    yield* files(join(path, name));
  }
}

describe('the repository is self-contained', () => {
  it('no file points outside the repository (absolute machine paths, a sibling shared folder)', () => {
    const offenders: string[] = [];
    for (const top of SCANNED) {
      for (const file of files(join(ROOT, top))) {
        if (!TEXT.test(file.split('/').at(-1)!) || statSync(file).size > 512 * 1024) continue;
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (OUTSIDE.test(line)) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim().slice(0, 120)}`);
          });
      }
    }
    expect(offenders).toEqual([]);
  });
});
