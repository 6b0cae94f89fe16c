/**
 * The OAuth endpoints of the local Pipedrive, standing in for https://oauth.pipedrive.com:
 *   GET  /oauth/authorize?client_id&redirect_uri&state  consent page (or, autoApprove, a redirect with a code)
 *   POST /oauth/authorize                              the page's form: allow → redirect with code, deny → with error
 *   POST /oauth/token (and /oauth/token/)              authorization_code and refresh_token grants
 *   POST /oauth/revoke                                 RFC 7009 revocation
 * Client authentication is HTTP basic auth (Pipedrive's documented way) or client_id/client_secret form
 * fields (its fallback). Error bodies are `{success: false, message, error}` with Pipedrive's messages
 * (its "OAuth status codes" page). Nothing of a request is logged.
 */
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { OAuthRefusal, type SimOAuth } from './state.ts';

export function oauthRoutes(oauth: SimOAuth, baseUrl: () => string): Router {
  const r = express.Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  /** Consent forms shown and not yet answered (one use each), so a POST must come from a page we served. */
  const pending = new Set<string>();

  r.get('/authorize', (req, res) => {
    const q = req.query as Record<string, unknown>;
    const checked = checkAuthorize(oauth, q['client_id'], q['redirect_uri']);
    if (typeof checked === 'string') return errorPage(res, checked);
    const state = typeof q['state'] === 'string' ? q['state'] : undefined;
    if (oauth.config.autoApprove) return redirect(res, checked.redirectUri, { code: oauth.issueCode(checked.clientId, checked.redirectUri), state });
    const consent = randomBytes(16).toString('hex');
    pending.add(consent);
    res.status(200).type('html').send(consentPage(checked.clientId, checked.redirectUri, state, consent));
  });

  r.post('/authorize', form, (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const checked = checkAuthorize(oauth, b['client_id'], b['redirect_uri']);
    if (typeof checked === 'string') return errorPage(res, checked);
    const consent = typeof b['consent'] === 'string' ? b['consent'] : '';
    if (!pending.delete(consent)) return errorPage(res, 'This authorization page has expired or was already answered; start the installation again.');
    const state = typeof b['state'] === 'string' && b['state'] !== '' ? b['state'] : undefined;
    if (b['decision'] !== 'allow') return redirect(res, checked.redirectUri, { error: 'access_denied', state });
    redirect(res, checked.redirectUri, { code: oauth.issueCode(checked.clientId, checked.redirectUri), state });
  });

  const token = (req: Request, res: Response) => {
    const body = formBody(oauth, req);
    const c = oauth.authenticate(...clientCredentials(req, body));
    const grantType = body['grant_type'];
    if (!grantType) throw oauth.refused(400, 'invalid_request', 'Missing parameter: grant_type');
    let answer;
    if (grantType === 'authorization_code') answer = oauth.exchangeCode(c, body['code'], body['redirect_uri'], baseUrl());
    else if (grantType === 'refresh_token') answer = oauth.refreshGrant(c, body['refresh_token'], baseUrl());
    else throw oauth.refused(400, 'unsupported_grant_type', 'Unsupported grant type: grant_type is invalid');
    res.set('cache-control', 'no-store').json(answer);
  };
  r.post(['/token', '/token/'], form, token);

  r.post('/revoke', form, (req, res) => {
    const body = formBody(oauth, req);
    const c = oauth.authenticate(...clientCredentials(req, body));
    oauth.revoke(c, body['token']);
    res.status(200).end();
  });

  r.use(((err, _req, res, next) => {
    if (!(err instanceof OAuthRefusal)) return next(err);
    if (err.status === 401) res.set('www-authenticate', 'Basic realm="oauth"');
    res.status(err.status).json({ success: false, message: err.message, error: err.code });
  }) as express.ErrorRequestHandler);
  return r;
}

/** The form fields of a token or revoke request; any other content type is Pipedrive's 400. */
function formBody(oauth: SimOAuth, req: Request): Record<string, string | undefined> {
  if (!req.is('application/x-www-form-urlencoded')) throw oauth.refused(400, 'invalid_request', 'Invalid request: content must be application/x-www-form-urlencoded');
  const raw = (req.body ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]));
}

/** Basic auth first (documented), form fields as the fallback Pipedrive also accepts. */
function clientCredentials(req: Request, body: Record<string, string | undefined>): [string | undefined, string | undefined] {
  const m = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  if (m) {
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return [decoded.slice(0, i), decoded.slice(i + 1)];
  }
  return [body['client_id'], body['client_secret']];
}

function checkAuthorize(oauth: SimOAuth, clientId: unknown, redirectUri: unknown): { clientId: string; redirectUri: string } | string {
  const c = typeof clientId === 'string' ? oauth.client(clientId) : undefined;
  // Never redirect to a callback the app did not register: the error is shown here instead.
  if (!c) return 'App cannot be installed: unknown client_id.';
  if (typeof redirectUri !== 'string' || !URL.canParse(redirectUri)) return 'Invalid request: redirect_uri is not a valid URI';
  if (!oauth.redirectAllowed(c, redirectUri)) return 'Invalid request: redirect_uri is invalid';
  return { clientId: c.clientId, redirectUri };
}

function redirect(res: Response, to: string, params: Record<string, string | undefined>): void {
  const u = new URL(to);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  res.redirect(302, u.toString());
}

function errorPage(res: Response, message: string): void {
  res.status(400).type('html').send(page('Pipedrive', `<p>${escapeHtml(message)}</p>`));
}

function consentPage(clientId: string, redirectUri: string, state: string | undefined, consent: string): string {
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return page(
    'Install app — Pipedrive (local simulator)',
    `<h1>Allow the app to access your Pipedrive company?</h1>
<p>App <code>${escapeHtml(clientId)}</code> asks for access to the local Pipedrive as its admin user.</p>
<form method="post" action="/oauth/authorize">
${hidden('client_id', clientId)}
${hidden('redirect_uri', redirectUri)}
${state === undefined ? '' : hidden('state', state)}
${hidden('consent', consent)}
<button type="submit" name="decision" value="allow">Allow and install</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body>\n${body}\n</body></html>\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
