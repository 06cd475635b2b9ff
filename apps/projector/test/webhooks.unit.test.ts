import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkWebhookUrl,
  DEFAULT_RETRY_POLICY,
  generateSecretKey,
  isRefusedAddress,
  OPEN_HOST_POLICY,
  parseAllowedHosts,
  parseSecretKey,
  resolveSecretKey,
  retryDelayMs,
  SecretBox,
  SecretBoxError,
  signWebhook,
  verifyWebhookSignature,
} from '../src/index.ts';

describe('SecretBox', () => {
  it('seals and opens, never showing the plaintext', () => {
    const box = new SecretBox(generateSecretKey());
    const sealed = box.seal('whsec_abc', 'webhook:1');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{16}\./);
    expect(sealed).not.toContain('whsec_abc');
    expect(box.seal('whsec_abc', 'webhook:1')).not.toBe(sealed); // fresh IV each time
    expect(box.open(sealed, 'webhook:1')).toBe('whsec_abc');
  });

  it('refuses another key, another owner and tampering', () => {
    const box = new SecretBox(generateSecretKey());
    const sealed = box.seal('s3cret', 'webhook:1');
    expect(() => new SecretBox(generateSecretKey()).open(sealed, 'webhook:1')).toThrow(
      /another server key/,
    );
    expect(() => box.open(sealed, 'webhook:2')).toThrow(SecretBoxError);
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[4]!, 'base64url');
    ct[0] = (ct[0] ?? 0) ^ 1;
    parts[4] = ct.toString('base64url');
    expect(() => box.open(parts.join('.'), 'webhook:1')).toThrow(/authentication/);
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow(/32 bytes/);
  });

  it('parses CAIRN_SECRET_KEY as base64 of exactly 32 bytes', () => {
    const key = generateSecretKey();
    expect(parseSecretKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseSecretKey(key.toString('base64url')).equals(key)).toBe(true);
    expect(() => parseSecretKey(Buffer.alloc(31).toString('base64'))).toThrow(/32 bytes/);
    expect(() => parseSecretKey('not base64!')).toThrow(/base64/);
  });

  it('creates the local key file once, mode 0600, and prefers the environment', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-key-'));
    try {
      const first = resolveSecretKey({ envValue: undefined, home });
      const again = resolveSecretKey({ envValue: '', home });
      expect(first.key.equals(again.key)).toBe(true);
      expect(first.source).toBe(path.join(home, 'secret.key'));
      expect(fs.statSync(first.source).mode & 0o777).toBe(0o600);
      const env = generateSecretKey();
      const fromEnv = resolveSecretKey({ envValue: env.toString('base64'), home });
      expect(fromEnv.key.equals(env)).toBe(true);
      expect(fromEnv.source).toBe('CAIRN_SECRET_KEY');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('signatures', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>" and verifies within the tolerance', () => {
    const body = '{"id":"d1","event":"MODEL_ALIAS_SET"}';
    const sig = signWebhook('whsec_x', 1_700_000_000, body);
    // Independently computed: printf '1700000000.%s' "$body" | openssl dgst -sha256 -hmac whsec_x
    expect(sig).toBe('sha256=6d552972c8cc9d6b42907d3f7b4eb2a497af590bd30a6fed93ecb6e6b985c7b4');
    const headers = { timestamp: '1700000000', signature: sig };
    expect(verifyWebhookSignature('whsec_x', headers, body, { now: 1_700_000_100 })).toBe(true);
    expect(verifyWebhookSignature('whsec_y', headers, body, { now: 1_700_000_100 })).toBe(false);
    expect(verifyWebhookSignature('whsec_x', headers, `${body} `, { now: 1_700_000_100 })).toBe(
      false,
    );
    expect(verifyWebhookSignature('whsec_x', headers, body, { now: 1_700_001_000 })).toBe(false);
  });
});

describe('webhook URLs', () => {
  const check = (url: string, allowed?: string) =>
    checkWebhookUrl(url, { allowedHosts: parseAllowedHosts(allowed) });

  it('accepts http and https, normalised', () => {
    expect(check('https://Hooks.Example.com/cairn?x=1')).toEqual({
      ok: true,
      url: 'https://hooks.example.com/cairn?x=1',
    });
    expect(check('http://127.0.0.1:8080/hook')).toMatchObject({ ok: true });
  });

  it.each([
    ['ftp://example.com/x', /scheme/],
    ['file:///etc/passwd', /scheme/],
    ['javascript:alert(1)', /scheme/],
    ['https://user:pw@example.com/', /credentials/],
    ['https://user@example.com/', /credentials/],
    ['not a url', /valid absolute URL/],
    ['/relative', /valid absolute URL/],
    [`https://example.com/${'a'.repeat(2100)}`, /longer than 2048/],
    ['https://example.com/#frag', /fragment/],
    ['http://169.254.169.254/latest/meta-data', /not allowed/],
    ['http://[fe80::1]/', /not allowed/],
    ['http://0.0.0.0/', /not allowed/],
    ['http://[::ffff:169.254.169.254]/', /not allowed/],
  ])('rejects %s', (url, reason) => {
    const result = check(url);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('applies CAIRN_WEBHOOK_ALLOWED_HOSTS', () => {
    const allowed = 'hooks.example.com, *.corp.example, 169.254.169.254';
    expect(check('https://hooks.example.com/', allowed).ok).toBe(true);
    expect(check('https://a.b.corp.example/', allowed).ok).toBe(true);
    expect(check('https://evil.example.org/', allowed).ok).toBe(false);
    expect(check('https://corp.example.evil/', allowed).ok).toBe(false);
    // named explicitly, a refused address becomes reachable
    expect(check('http://169.254.169.254/', allowed).ok).toBe(true);
    expect(parseAllowedHosts('  ')).toBeNull();
    expect(OPEN_HOST_POLICY.allowedHosts).toBeNull();
  });

  it('knows the refused address ranges', () => {
    expect(isRefusedAddress('169.254.10.1')).toBe(true);
    expect(isRefusedAddress('fd00:ec2::254')).toBe(true);
    expect(isRefusedAddress('224.0.0.1')).toBe(true);
    expect(isRefusedAddress('127.0.0.1')).toBe(false);
    expect(isRefusedAddress('10.1.2.3')).toBe(false);
    expect(isRefusedAddress('::1')).toBe(false);
    expect(isRefusedAddress('example.com')).toBe(false);
  });
});

describe('retry schedule', () => {
  it('doubles from the base delay, capped, with jitter within ± the fraction', () => {
    const mid = () => 0.5;
    const policy = DEFAULT_RETRY_POLICY;
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(n, policy, mid))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000,
    ]);
    expect(retryDelayMs(30, policy, mid)).toBe(3_600_000);
    expect(retryDelayMs(1, policy, () => 0)).toBe(8000);
    expect(retryDelayMs(1, policy, () => 0.999999)).toBeCloseTo(12_000, -1);
    const small = { ...policy, baseDelayMs: 50, jitter: 0 };
    expect(retryDelayMs(3, small)).toBe(200);
  });
});
