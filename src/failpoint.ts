/**
 * Failpoints for crash tests: `PIPEDRIVE_CDC_FAILPOINT=name[:n]` kills this process with SIGKILL the n-th
 * time (default first) execution passes `failpoint(name)`. Unset in production: then it is a no-op.
 */
const spec = process.env.PIPEDRIVE_CDC_FAILPOINT ?? '';
const armed = new Map(
  spec
    .split(',')
    .filter(Boolean)
    .map((s) => {
      const [name, n] = s.split(':');
      return [name!, Number(n ?? 1)] as const;
    }),
);
const hits = new Map<string, number>();

export function failpoint(name: string): void {
  const at = armed.get(name);
  if (at === undefined) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n >= at) {
    process.stderr.write(`failpoint ${name} hit (${n}): killing the process\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
