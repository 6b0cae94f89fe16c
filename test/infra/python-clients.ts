/**
 * Confluent's Python client for the tests that read our topics as a Python service would
 * (test/clients/python): a venv in the cache with the pinned requirements, re-made when they change.
 * Test infrastructure only; the product never needs Python.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../../src/infra/paths.ts';

export const PYTHON_CLIENTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../clients/python');
const REQUIREMENTS = join(PYTHON_CLIENTS_DIR, 'requirements.txt');
const venv = () => join(cacheDir(), 'python-clients-venv');
const stamp = () => join(venv(), '.pipedrive-cdc-requirements');
const hash = () => createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');

/** The venv's python, with the clients installed. */
export function pythonClients(): string {
  return join(venv(), 'bin', 'python');
}

export function ensurePythonClients(log: (line: string) => void): { cold: boolean } {
  if (existsSync(pythonClients()) && existsSync(stamp()) && readFileSync(stamp(), 'utf8') === hash()) return { cold: false };
  const steps: Array<[string, string[]]> = [
    ...(existsSync(pythonClients()) ? [] : [['python3', ['-m', 'venv', venv()]] as [string, string[]]]),
    [pythonClients(), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]],
  ];
  for (const [cmd, args] of steps) {
    log(`python clients: ${cmd} ${args.join(' ')}`);
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.error || r.status !== 0) throw new Error(`python clients: ${cmd} ${args.slice(0, 2).join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}); needs Python 3.9+ with venv and PyPI`);
  }
  writeFileSync(stamp(), hash());
  return { cold: true };
}
