/**
 * What a registry failure means. `retriable`: the registry is down, restarting or overloaded (no answer,
 * a timeout, 5xx, 429, 408) and waiting may fix it; otherwise the message says what is wrong and what to
 * do — refused credentials or permissions, an untrusted certificate, a URL without the Confluent API, a
 * schema id or subject the registry does not have, a refused schema. `status` is the HTTP status of a
 * refused request (the sink skips a subject not registered yet on 404).
 */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A 404 at the API's own paths: the URL does not point at a Confluent-compatible API. */
export function noApiAt(shownUrl: string): string {
  return (
    `HTTP 404: no Confluent-compatible API at this URL. For Apicurio Registry the URL ends in /apis/ccompat/v7 ` +
    `(e.g. ${shownUrl}/apis/ccompat/v7); check SCHEMA_REGISTRY_URL`
  );
}

export const isRetriableStatus = (status: number) => status >= 500 || status === 429 || status === 408;

/** What a refused request's status means, and what to do about it. */
export function explainStatus(status: number, text: string, ctx: { shownUrl: string; withCredentials: boolean }): string {
  let detail = text.slice(0, 200);
  let code: number | undefined;
  try {
    const parsed = JSON.parse(text) as { error_code?: number; message?: string };
    code = parsed.error_code;
    detail = parsed.message ?? detail;
  } catch {
    /* not a registry error body (a proxy's HTML page, say) */
  }
  switch (status) {
    case 401:
      return ctx.withCredentials
        ? 'HTTP 401: the registry refused the credentials; check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD (or their _FILE variants)'
        : 'HTTP 401: the registry requires credentials; set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD (or SCHEMA_REGISTRY_PASSWORD_FILE)';
    case 403:
      return `HTTP 403: the registry refused the request; check the permissions of ${ctx.withCredentials ? 'SCHEMA_REGISTRY_USERNAME' : 'this client'} on the subjects (the sink reads, the producer also writes)`;
    case 404:
      return code === undefined ? noApiAt(ctx.shownUrl) : `HTTP 404 (error ${code}): ${detail}`;
    case 409:
      return `HTTP 409: the registry refused the schema as incompatible with the subject's earlier versions under BACKWARD compatibility (${detail}); see docs/ARCHITECTURE.md "Schema evolution"`;
    case 422:
      return `HTTP 422: the registry refused the schema as invalid (${detail})`;
    default:
      return `HTTP ${status}: ${detail}`;
  }
}

/** Node's codes for a TLS failure that waiting does not fix, and what to do about each. */
export function tlsAdvice(code: string | undefined): string | undefined {
  if (!code) return undefined;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return "the registry's certificate does not name this host; use the host name the certificate was issued for in SCHEMA_REGISTRY_URL";
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return "the registry's certificate is outside its validity period";
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) return "the registry's certificate is not trusted; set SCHEMA_REGISTRY_CA_FILE to the CA certificate (PEM) that signed it";
  if (/WRONG_VERSION_NUMBER|ERR_SSL_/.test(code)) return 'the TLS handshake failed; check that SCHEMA_REGISTRY_URL is https:// on a TLS port (http:// for a plain one)';
  return undefined;
}
