/**
 * Webhook target checks (issue 20): every IPv6 spelling of a refused address is refused, and on
 * a server bound beyond loopback, loopback and private-network targets are refused unless
 * CAIRN_WEBHOOK_ALLOWED_HOSTS names them. The send-time lookup guard applies the same policy to
 * the addresses a name resolves to.
 */
import { describe, expect, it } from 'vitest';
import {
  addressRefusal,
  checkWebhookUrl,
  embeddedIPv4,
  guardedLookup,
  isPrivateAddress,
  isRefusedAddress,
  parseAllowedHosts,
  type WebhookHostPolicy,
} from '../src/index.ts';

const loopbackServer = (allowed?: string): WebhookHostPolicy => ({
  allowedHosts: parseAllowedHosts(allowed),
});
const publicServer = (allowed?: string): WebhookHostPolicy => ({
  allowedHosts: parseAllowedHosts(allowed),
  refusePrivate: true,
});

describe('refused addresses in IPv6 clothing', () => {
  it.each([
    'http://[::169.254.169.254]/',
    'http://[::a9fe:a9fe]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[64:ff9b::169.254.169.254]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://[0:0:0:0:0:ffff:169.254.169.254]/',
    'http://[2002:a9fe:a9fe::1]/',
    'http://[::0.0.0.0]/',
    'http://[64:ff9b::e000:1]/',
  ])('%s is refused on any server', (url) => {
    for (const policy of [loopbackServer(), publicServer()]) {
      const result = checkWebhookUrl(url, policy);
      expect(result.ok, url).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(/link-local, metadata/u);
    }
  });

  it('extracts the carried IPv4 address', () => {
    expect(embeddedIPv4('::169.254.169.254')).toBe('169.254.169.254');
    expect(embeddedIPv4('64:ff9b::a9fe:a9fe')).toBe('169.254.169.254');
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('2002:0a00:0001::')).toBe('10.0.0.1');
    expect(embeddedIPv4('::1')).toBeNull();
    expect(embeddedIPv4('::')).toBeNull();
    expect(embeddedIPv4('2001:db8::1')).toBeNull();
    expect(embeddedIPv4('1.2.3.4')).toBeNull();
    expect(isRefusedAddress('64:ff9b::a9fe:a9fe')).toBe(true);
    expect(isRefusedAddress('64:ff9b::808:808')).toBe(false); // 8.8.8.8 via NAT64
    expect(isRefusedAddress('::1')).toBe(false);
  });
});

describe('loopback and private targets', () => {
  const privateTargets = [
    'http://127.1/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://127.0.0.1:8080/hook',
    'http://[::ffff:127.0.0.1]/',
    'http://[::127.0.0.1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[::1]/',
    'http://localhost:9000/',
    'http://api.localhost/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://172.31.255.254/',
    'http://192.168.1.10/',
    'http://100.64.0.1/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
  ];

  it.each(privateTargets)('%s is refused on a server bound beyond loopback', (url) => {
    const result = checkWebhookUrl(url, publicServer());
    expect(result.ok, url).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(/loopback or private network/u);
      expect(result.reason).toContain('CAIRN_WEBHOOK_ALLOWED_HOSTS');
    }
  });

  it('the same targets stay allowed on a loopback server (local development)', () => {
    for (const url of privateTargets)
      expect(checkWebhookUrl(url, loopbackServer()).ok, url).toBe(true);
  });

  it('CAIRN_WEBHOOK_ALLOWED_HOSTS naming a host lets it through; others stay refused', () => {
    const policy = publicServer('10.0.0.7, localhost, hooks.example.com');
    expect(checkWebhookUrl('http://10.0.0.7:8080/x', policy).ok).toBe(true);
    expect(checkWebhookUrl('http://localhost/x', policy).ok).toBe(true);
    expect(checkWebhookUrl('http://10.0.0.8/x', policy).ok).toBe(false);
    expect(checkWebhookUrl('https://hooks.example.com/x', policy).ok).toBe(true);
  });

  it('public addresses and names pass', () => {
    for (const url of [
      'https://hooks.example.com/x',
      'http://8.8.8.8/',
      'http://172.32.0.1/',
      'http://[2001:4860::8888]/',
    ])
      expect(checkWebhookUrl(url, publicServer()).ok, url).toBe(true);
    expect(isPrivateAddress('172.15.255.255')).toBe(false);
    expect(isPrivateAddress('fe00::1')).toBe(false);
    expect(addressRefusal('93.184.216.34', publicServer())).toBeNull();
  });
});

describe('send-time lookup guard', () => {
  const lookup = (policy: WebhookHostPolicy, host: string) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      guardedLookup(policy)(host, {}, (error, address) => resolve({ error, address })),
    );

  it('a name resolving to loopback is refused beyond loopback, allowed on loopback or when named', async () => {
    const refused = await lookup(publicServer(), 'localhost');
    expect(refused.error?.code).toBe('EWEBHOOKREFUSED');
    expect(refused.error?.message).toMatch(/loopback or private network/u);
    expect((await lookup(loopbackServer(), 'localhost')).error).toBeNull();
    expect((await lookup(publicServer('localhost'), 'localhost')).error).toBeNull();
  });
});
