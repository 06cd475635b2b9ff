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
