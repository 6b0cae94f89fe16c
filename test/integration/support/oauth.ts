/** What the OAuth integration tests share: a scripted browser, a plain-text line waiter, leak checks. */
import { expect } from 'vitest';
import type { CliRun } from './harness.ts';

/**
 * Does what a browser does with Pipedrive's authorize URL: loads the page, submits its form with the
 * chosen button, and returns where Pipedrive redirects (the app's callback with code and state).
 */
export async function consentInBrowser(authorizeUrl: string, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
  const page = await fetch(authorizeUrl);
  if (page.status !== 200) throw new Error(`authorize page: HTTP ${page.status}: ${await page.text()}`);
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
  if (!action) throw new Error('authorize page has no form');
  const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, unescapeHtml(m[2]!)]));
  const res = await fetch(new URL(action, authorizeUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, decision }).toString(),
    redirect: 'manual',
  });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`consent form: HTTP ${res.status}`);
  return new URL(location);
}

function unescapeHtml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

/** The first output line (plain text or JSON) matching `re`. */
export async function waitForText(run: CliRun, re: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = run.lines.find((l) => re.test(l));
    if (hit !== undefined) return hit;
    if (run.child.exitCode !== null) throw new Error(`exited (${run.child.exitCode}) before a line matching ${re}; output:\n${run.lines.slice(-30).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`no line matching ${re} in ${timeoutMs} ms; output:\n${run.lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** None of `secrets` (tokens, codes, client secrets, proxy passwords) occurs in any of `texts`. */
export function expectNoSecrets(where: string, texts: readonly string[], secrets: Iterable<string>): void {
  const all = texts.join('\n');
  for (const s of secrets) {
    if (s.length < 6) continue;
    expect(all.includes(s), `${where} contains a secret (${s.slice(0, 4)}…)`).toBe(false);
  }
}
