/**
 * How URLs are shown: the one helper every log line, error message and config summary uses. Userinfo
 * (proxy and database passwords travel there) and the query (tokens, codes and states travel there) are
 * replaced by `***`, the fragment is dropped; scheme, host, port and path stay, since those are what a
 * reader needs to tell which service is meant.
 */
export function redactUrl(u: string | URL): string {
  let p: URL;
  try {
    p = typeof u === 'string' ? new URL(u) : new URL(u.href);
  } catch {
    return '<unparseable URL>';
  }
  const userinfo = p.username || p.password ? '***@' : '';
  const query = p.search ? '?***' : '';
  // `host` keeps the port and IPv6 brackets; opaque schemes (mailto:) have no `//`.
  const authority = p.host || userinfo ? `//${userinfo}${p.host}` : '';
  const path = p.pathname === '/' && !query ? '' : p.pathname;
  return `${p.protocol}${authority}${path}${query}`;
}

/** A base URL as named in front of a request path (`GET <base>/api/v2/deals`): redacted, no query, no trailing slash. */
export function shownBase(u: string | URL): string {
  return redactUrl(u).replace(/\?\*\*\*$/, '').replace(/\/+$/, '');
}

/**
 * Redacts every URL inside a free text (an error message of a library that quotes the URL it failed on):
 * the same rules as `redactUrl`, applied to each `scheme://…` run of non-space characters.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (m) => {
    // Keep trailing punctuation that ends the sentence, not the URL.
    const tail = /[),.;:]+$/.exec(m)?.[0] ?? '';
    const url = tail ? m.slice(0, -tail.length) : m;
    const shown = redactUrl(url);
    return `${shown.startsWith('<') ? '<URL>' : shown}${tail}`;
  });
}
