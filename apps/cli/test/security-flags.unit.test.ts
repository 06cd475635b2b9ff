import { describe, expect, it } from 'vitest';
import { parseConfig, USAGE, UsageError, type CliConfig } from '../src/config.ts';

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): CliConfig {
  const cfg = parseConfig(['server', ...argv], env);
  if (cfg === 'help') throw new Error('help');
  return cfg;
}

describe('security flags', () => {
  it('default: no extra hosts or origins, the default WebSocket frame limit', () => {
    expect(parse([]).security).toEqual({ allowedHosts: [], corsAllowedOrigins: [] });
  });

  it('flags and their environment variables (flags win)', () => {
    const cfg = parse(
      [
        '--allowed-hosts',
        'cairn.internal, api.example:8443',
        '--cors-allowed-origins',
        'http://localhost:3000,https://dash.example',
        '--ws-max-payload-bytes',
        '65536',
      ],
      { CAIRN_ALLOWED_HOSTS: 'ignored.example' },
    );
    expect(cfg.security).toEqual({
      allowedHosts: ['cairn.internal', 'api.example:8443'],
      corsAllowedOrigins: ['http://localhost:3000', 'https://dash.example'],
      wsMaxPayloadBytes: 65536,
    });
    const fromEnv = parse([], {
      CAIRN_ALLOWED_HOSTS: '*',
      CAIRN_CORS_ALLOWED_ORIGINS: '*',
      CAIRN_WS_MAX_PAYLOAD_BYTES: '2048',
    });
    expect(fromEnv.security).toEqual({
      allowedHosts: ['*'],
      corsAllowedOrigins: ['*'],
      wsMaxPayloadBytes: 2048,
    });
  });

  it('refuses malformed origins and frame limits', () => {
    for (const origin of ['localhost:3000', 'http://a.example/path', 'ftp://a.example', 'null'])
      expect(() => parse(['--cors-allowed-origins', origin]), origin).toThrow(UsageError);
    for (const n of ['0', '12', '1.5', 'lots'])
      expect(() => parse(['--ws-max-payload-bytes', n]), n).toThrow(UsageError);
  });

  it('--help lists them', () => {
    for (const flag of ['--allowed-hosts', '--cors-allowed-origins', '--ws-max-payload-bytes'])
      expect(USAGE).toContain(flag);
  });
});

describe('--auth and --insecure-no-auth', () => {
  it('default off; flag and CAIRN_AUTH (flag wins); bad values refused', () => {
    expect(parse([]).auth).toEqual({ mode: 'off', insecureNoAuth: false });
    expect(parse(['--auth', 'required']).auth.mode).toBe('required');
    expect(parse([], { CAIRN_AUTH: 'required' }).auth.mode).toBe('required');
    expect(parse(['--auth', 'off'], { CAIRN_AUTH: 'required' }).auth.mode).toBe('off');
    for (const v of ['on', 'yes', ''])
      expect(() => parse(['--auth', v]), v).toThrow(/Invalid --auth/u);
  });

  it('auth off on a non-loopback host refuses, naming --auth required and --insecure-no-auth', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'cairn.example', '128.0.0.1']) {
      let message = '';
      try {
        parse(['--host', host]);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        message = (error as Error).message;
      }
      expect(message, host).toContain('--auth required');
      expect(message, host).toContain('--insecure-no-auth');
    }
    expect(() => parse([], { CAIRN_HOST: '0.0.0.0' })).toThrow(UsageError);
    expect(() => parseConfig(['api', '--host', '0.0.0.0'], {})).toThrow(/--insecure-no-auth/u);
  });

  it('loopback hosts, --auth required, --insecure-no-auth and non-serving commands start', () => {
    for (const host of [
      '127.0.0.1',
      '127.8.9.10',
      'localhost',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ])
      expect(parse(['--host', host]).host, host).toBe(host);
    expect(parse(['--host', '0.0.0.0', '--auth', 'required']).auth.mode).toBe('required');
    expect(parse(['--host', '0.0.0.0', '--insecure-no-auth']).auth).toEqual({
      mode: 'off',
      insecureNoAuth: true,
    });
    expect(parseConfig(['migrate', '--host', '0.0.0.0'], {})).not.toBe('help');
  });

  it('--help lists them', () => {
    for (const flag of ['--auth required|off', '--insecure-no-auth']) expect(USAGE).toContain(flag);
  });
});

describe('CAIRN_INSECURE_NO_AUTH', () => {
  it('1/true acts as --insecure-no-auth; other values do not', () => {
    expect(parse(['--host', '0.0.0.0'], { CAIRN_INSECURE_NO_AUTH: '1' }).auth.insecureNoAuth).toBe(
      true,
    );
    expect(
      parse(['--host', '0.0.0.0'], { CAIRN_INSECURE_NO_AUTH: 'true' }).auth.insecureNoAuth,
    ).toBe(true);
    for (const v of ['0', '', 'no'])
      expect(() => parse(['--host', '0.0.0.0'], { CAIRN_INSECURE_NO_AUTH: v }), v).toThrow(
        UsageError,
      );
  });
});
