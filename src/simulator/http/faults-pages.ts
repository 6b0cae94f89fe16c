/**
 * Non-JSON answers that come from Pipedrive's edge rather than its API: Cloudflare's HTML block page
 * (what persistent rate-limit violators get: 403, text/html). Clients that assume every body is JSON
 * break on it, which is the point.
 */
import { randomBytes } from 'node:crypto';
import type { Response } from 'express';

/** Pipedrive's own headers do not survive an answer from the edge. */
const API_HEADERS = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset',
  'x-daily-ratelimit-token-limit', 'x-daily-ratelimit-token-remaining', 'x-token-cost'];

export function sendCloudflare403(res: Response): void {
  for (const h of API_HEADERS) res.removeHeader(h);
  const ray = randomBytes(8).toString('hex');
  res
    .status(403)
    .set({ 'content-type': 'text/html; charset=UTF-8', server: 'cloudflare', 'cf-ray': `${ray}-AMS`, 'cache-control': 'no-store' })
    .send(cloudflarePage(ray));
}

function cloudflarePage(ray: string): string {
  return `<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<html lang="en-US">
<head>
<title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8" />
<meta name="robots" content="noindex, nofollow" />
</head>
<body>
  <div id="cf-wrapper">
    <div id="cf-error-details" class="cf-error-details-wrapper">
      <h1 data-translate="block_headline">Sorry, you have been blocked</h1>
      <h2 class="cf-subheadline"><span data-translate="unable_to_access">You are unable to access</span> pipedrive.com</h2>
      <p>This website is using a security service to protect itself from online attacks. The action you just
      performed triggered the security solution.</p>
      <p>Cloudflare Ray ID: <strong class="font-semibold">${ray}</strong></p>
    </div>
  </div>
</body>
</html>
`;
}
