// A program from one of Debian's packages, for tests that need a real server the JVM and npm do not
// have: `apt-get download` into the cache (after an `apt-get update` when apt has no lists yet), then
// `dpkg -x` into `<cache>/<name>-root`. Never `apt-get install`, whose maintainer scripts would start a
// system daemon. The package's shared-library dependencies must be on the machine already (ldd says
// which are missing); Debian's base system has the usual ones (libc, libssl, zlib, pcre2).
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { installAtomically, newTempDir } from './atomic.ts';
import { cacheDir } from './paths.ts';
import { run, runOk, which } from './proc.ts';

export interface DebianBinary {
  /** Absolute path of the program inside the unpacked package. */
  bin: string;
  /** True when this call downloaded or unpacked it. */
  cold: boolean;
}

/** `<cache>/<dir>/<path>` from Debian's package `pkg`, fetched and unpacked when absent. */
export async function ensureDebianBinary(pkg: string, path: string, dir = `${pkg}-root`): Promise<DebianBinary> {
  const root = join(cacheDir(), dir);
  const bin = join(root, path);
  const complete = () => existsSync(bin);
  const missing = ['apt-get', 'dpkg'].filter((t) => !which(t));
  if (!complete() && missing.length > 0) {
    throw new Error(`Cannot fetch ${pkg}: missing ${missing.join(', ')}; on Debian/Ubuntu they come with the system, elsewhere unpack Debian's ${pkg} .deb into ${root}`);
  }
  const cold = await installAtomically(root, complete, async (tmp) => {
    await runOk('dpkg', ['-x', await debianPackage(pkg), tmp]);
  });
  return { bin, cold };
}

/** A cached `<pkg>_*.deb`, downloaded when absent. */
async function debianPackage(pkg: string): Promise<string> {
  const pattern = new RegExp(`^${pkg.replace(/[.+]/g, '\\$&')}_.*\\.deb$`);
  const cached = () => readdirSync(cacheDir()).find((f) => pattern.test(f));
  if (!cached()) {
    const dl = newTempDir();
    try {
      let r = await run('apt-get', ['download', pkg], { cwd: dl });
      if (r.code !== 0) {
        const u = await run('apt-get', ['update', '-qq']);
        if (u.code !== 0) throw new Error(`apt-get update failed:\n${u.output.slice(-2000)}`);
        r = await run('apt-get', ['download', pkg], { cwd: dl });
      }
      const got = readdirSync(dl).find((f) => pattern.test(f));
      if (r.code !== 0 || !got) throw new Error(`apt-get download ${pkg} failed:\n${r.output.slice(-2000)}`);
      if (!cached()) renameSync(join(dl, got), join(cacheDir(), got));
    } finally {
      rmSync(dl, { recursive: true, force: true });
    }
  }
  return join(cacheDir(), cached()!);
}
