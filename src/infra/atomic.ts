// Temp-dir-then-rename installs into the cache: a killed download never leaves a half-filled entry
// that a later run would trust, and the next install sweeps the dead process's leftovers.
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cacheDir } from './paths.ts';
import { isAlive } from './proc.ts';

/** A fresh `<cache>/.tmp-<pid>-<rand>` dir; the pid lets a later sweep tell whether its writer died. */
export function newTempDir(): string {
  const tmp = join(cacheDir(), `.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  return tmp;
}

/** Builds `finalDir` via `fill(tmp)` + rename. Returns true when it had to build (a cold install). */
export async function installAtomically(finalDir: string, isComplete: () => boolean, fill: (tmp: string) => Promise<void>): Promise<boolean> {
  if (isComplete()) return false;
  sweepStaleTemps();
  const tmp = newTempDir();
  try {
    await fill(tmp);
    if (isComplete()) return false; // another process finished the same install meanwhile
    rmSync(finalDir, { recursive: true, force: true }); // an incomplete leftover from an older layout
    renameSync(tmp, finalDir);
    return true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes temp dirs left by installs whose process died mid-way. */
export function sweepStaleTemps(): void {
  for (const name of readdirSync(cacheDir())) {
    const m = /^\.tmp-(\d+)-/.exec(name);
    if (m && !isAlive(Number(m[1]))) rmSync(join(cacheDir(), name), { recursive: true, force: true });
  }
}
