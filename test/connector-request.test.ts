import { describe, expect, it } from 'vitest';
import { parseCreateConnector } from '../src/admin/connector-request.ts';

describe('POST /v1/connectors body (zod)', () => {
  it('accepts an API token or an OAuth app, with optional prefix, tables and rules', () => {
    const token = parseCreateConnector({ name: 'acme', pipedrive: { apiToken: 't0ken', baseUrl: 'https://acme.pipedrive.com/' }, tables: ['deal'], rules: { blockedTables: ['person'] } });
    expect(token).toEqual({ ok: true, value: { name: 'acme', pipedrive: { apiToken: 't0ken', baseUrl: 'https://acme.pipedrive.com' }, tables: ['deal'], rules: { blockedTables: ['person'] } } });
    const oauth = parseCreateConnector({ name: 'b.co', topicPrefix: 'b_co', pipedrive: { oauth: { clientId: 'id', clientSecret: 'sec', redirectUri: 'https://cdc.example/v1/oauth/callback' } } });
    expect(oauth.ok).toBe(true);
  });

  it('names the bad field, never the value', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ pipedrive: { apiToken: 'x' } }, /^name: /],
      [{ name: 'a b', pipedrive: { apiToken: 'x' } }, /^name: letters, digits/],
      [{ name: 'a', pipedrive: {} }, /^pipedrive\.apiToken: required/],
      [{ name: 'a', pipedrive: { apiToken: 'x', oauth: { clientId: 'i', clientSecret: 's' } } }, /^pipedrive\.oauth: give either apiToken or oauth/],
      [{ name: 'a', pipedrive: { oauth: { clientId: 'i' } } }, /^pipedrive\.oauth\.clientSecret: /],
      [{ name: 'a', pipedrive: { apiToken: 'x', baseUrl: 'ftp://h' } }, /^pipedrive\.baseUrl: must be an http\(s\) URL/],
      [{ name: 'a', pipedrive: { apiToken: 'x' }, tables: [] }, /^tables: at least one table/],
      [{ name: 'a', pipedrive: { apiToken: 'x' }, rules: { nope: 1 } }, /^rules: unknown key "nope"/],
      [{ name: 'a', pipedrive: { apiToken: 'x' }, extra: true }, /^\(the body\): unknown key "extra"/],
      [{ name: 'a', topicPrefix: 'a.b', pipedrive: { apiToken: 'x' } }, /^topicPrefix: letters, digits, _ and -/],
      [{ name: 'a', pipedrive: { apiToken: 'x' }, webhooks: { port: 9481 } }, /^webhooks\.publicUrl: /],
      [{ name: 'a', pipedrive: { apiToken: 'x' }, webhooks: { publicUrl: 'ftp://h' } }, /^webhooks\.publicUrl: must be an http\(s\) URL/],
      [{ name: 'a', pipedrive: { apiToken: 'x' }, webhooks: { publicUrl: 'https://h/x', port: 70000 } }, /^webhooks\.port: must be a port/],
      [{ name: 'a', pipedrive: { apiToken: 'x' }, webhooks: { publicUrl: 'https://h/x', password: 'p' } }, /^webhooks: unknown key "password"/],
      ['text', /^\(the body\): /],
    ];
    for (const [body, re] of cases) {
      const r = parseCreateConnector(body);
      expect(r.ok, JSON.stringify(body)).toBe(false);
      if (!r.ok) expect(r.message, JSON.stringify(body)).toMatch(re);
    }
    const r = parseCreateConnector({ name: 'a', pipedrive: { apiToken: 12345678 } });
    expect(!r.ok && r.message).not.toContain('12345678');
  });
});
