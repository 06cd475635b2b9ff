import { describe, expect, it } from 'vitest';
import { createOriginPolicy, originHost, parseList, splitHost } from '../src/http/origin-policy.ts';

describe('origin policy: Host', () => {
  const policy = createOriginPolicy({ boundHost: '127.0.0.1' });

  it('allows the loopback names with the server port or none', () => {
    for (const host of ['localhost', 'localhost:4680', '127.0.0.1:4680', '[::1]:4680', '[::1]'])
      expect(policy.hostAllowed(host, 4680), host).toBe(true);
    expect(policy.hostAllowed('LOCALHOST:4680', 4680)).toBe(true);
    expect(policy.hostAllowed('localhost.:4680', 4680)).toBe(true);
  });

  it('refuses other names and other ports (DNS rebinding)', () => {
    for (const host of [
      'evil.example',
      'evil.example:4680',
      'localhost:9999',
      '127.0.0.2:4680',
      '',
    ])
      expect(policy.hostAllowed(host, 4680), host).toBe(false);
  });

  it('allows a request without Host (HTTP/1.0)', () => {
    expect(policy.hostAllowed(undefined, 4680)).toBe(true);
  });

  it('allows the bound address and the literal address the connection arrived on', () => {
    const bound = createOriginPolicy({ boundHost: '10.0.0.5' });
    expect(bound.hostAllowed('10.0.0.5:4680', 4680)).toBe(true);
    const wildcard = createOriginPolicy({ boundHost: '0.0.0.0' });
    expect(wildcard.hostAllowed('10.1.2.3:4680', 4680, '10.1.2.3')).toBe(true);
    expect(wildcard.hostAllowed('10.1.2.3:4680', 4680, '::ffff:10.1.2.3')).toBe(true);
    expect(wildcard.hostAllowed('[fd00::1]:4680', 4680, 'fd00::1')).toBe(true);
    expect(wildcard.hostAllowed('10.9.9.9:4680', 4680, '10.1.2.3')).toBe(false);
    expect(wildcard.hostAllowed('cairn.internal:4680', 4680, '10.1.2.3')).toBe(false);
    const v6 = createOriginPolicy({ boundHost: '::1' });
    expect(v6.hostAllowed('[::1]:4680', 4680)).toBe(true);
  });

  it('adds --allowed-hosts (any port, or the one named) and * allows any', () => {
    const listed = createOriginPolicy({ allowedHosts: ['cairn.internal', 'api.example:8443'] });
    expect(listed.hostAllowed('cairn.internal', 4680)).toBe(true);
    expect(listed.hostAllowed('cairn.internal:80', 4680)).toBe(true);
    expect(listed.hostAllowed('api.example:8443', 4680)).toBe(true);
    expect(listed.hostAllowed('api.example:9000', 4680)).toBe(false);
    expect(listed.hostAllowed('other.example', 4680)).toBe(false);
    expect(createOriginPolicy({ allowedHosts: ['*'] }).hostAllowed('x.example:1', 4680)).toBe(true);
  });
});

describe('origin policy: Origin', () => {
  const policy = createOriginPolicy({ corsAllowedOrigins: ['http://localhost:3000/'] });

  it('no Origin is not a page (curl, SDKs)', () => {
    expect(policy.origin(undefined, '127.0.0.1:4680')).toBe('none');
  });

  it('same origin: the Origin host equals Host (default ports ignored)', () => {
    expect(policy.origin('http://127.0.0.1:4680', '127.0.0.1:4680')).toBe('same-origin');
    expect(policy.origin('https://cairn.example', 'cairn.example')).toBe('same-origin');
    expect(policy.origin('https://cairn.example', 'cairn.example:443')).toBe('same-origin');
    expect(policy.origin('http://cairn.example', 'cairn.example:80')).toBe('same-origin');
  });

  it('listed origins are allowed, others refused, null refused', () => {
    expect(policy.origin('http://localhost:3000', '127.0.0.1:4680')).toBe('allowed');
    expect(policy.origin('http://LOCALHOST:3000', '127.0.0.1:4680')).toBe('allowed');
    expect(policy.origin('http://evil.example', '127.0.0.1:4680')).toBe('refused');
    expect(policy.origin('http://localhost:3001', '127.0.0.1:4680')).toBe('refused');
    expect(policy.origin('null', '127.0.0.1:4680')).toBe('refused');
    expect(policy.origin('file://', '127.0.0.1:4680')).toBe('refused');
    expect(policy.origin('http://127.0.0.1:4681', '127.0.0.1:4680')).toBe('refused');
  });

  it('* allows any real origin, never null', () => {
    const any = createOriginPolicy({ corsAllowedOrigins: ['*'] });
    expect(any.origin('http://evil.example', '127.0.0.1:4680')).toBe('allowed');
    expect(any.origin('null', '127.0.0.1:4680')).toBe('refused');
  });
});

describe('origin policy helpers', () => {
  it('parses lists and hosts', () => {
    expect(parseList(' a, b,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseList(undefined)).toEqual([]);
    expect(splitHost('[::1]:80')).toEqual({ name: '[::1]', port: '80' });
    expect(splitHost('Example.COM:8080')).toEqual({ name: 'example.com', port: '8080' });
    expect(splitHost('::1')).toEqual({ name: '[::1]', port: null });
    expect(originHost('https://a.example:443')).toBe('a.example');
    expect(originHost('ftp://a.example')).toBeNull();
    expect(originHost('not a url')).toBeNull();
  });
});
