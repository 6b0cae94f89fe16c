import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlsIn, shownBase } from '../src/redact.ts';

describe('redactUrl: how every URL is shown', () => {
  it.each([
    ['https://api.pipedrive.com', 'https://api.pipedrive.com'],
    ['https://acme.pipedrive.com/', 'https://acme.pipedrive.com'],
    ['http://127.0.0.1:8081/apis/ccompat/v7', 'http://127.0.0.1:8081/apis/ccompat/v7'],
    ['http://user:s3cret@proxy.example:3128', 'http://***@proxy.example:3128'],
    ['http://onlyuser@proxy.example:3128/', 'http://***@proxy.example:3128'],
    ['postgres://u:pw@db:5432/d?sslmode=require', 'postgres://***@db:5432/d?***'],
    ['https://oauth.pipedrive.com/oauth/authorize?client_id=a&state=b#frag', 'https://oauth.pipedrive.com/oauth/authorize?***'],
    ['http://[::1]:9000/x', 'http://[::1]:9000/x'],
    ['not a url', '<unparseable URL>'],
  ])('%s → %s', (input, shown) => {
    expect(redactUrl(input)).toBe(shown);
  });

  it('shownBase drops the query and the trailing slash', () => {
    expect(shownBase('https://u:p@acme.pipedrive.com/?x=1')).toBe('https://***@acme.pipedrive.com');
    expect(shownBase('http://127.0.0.1:1234/')).toBe('http://127.0.0.1:1234');
  });

  it('redactUrlsIn redacts URLs inside a sentence, keeping its punctuation', () => {
    const text = 'connect failed via http://alice:pw@10.0.0.1:3128/ (timeout), then https://x.example/a?token=abc.';
    expect(redactUrlsIn(text)).toBe('connect failed via http://***@10.0.0.1:3128 (timeout), then https://x.example/a?***.');
    expect(redactUrlsIn(text)).not.toMatch(/pw|abc/);
  });
});
