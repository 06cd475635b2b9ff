import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type CliConfig } from '../src/config.ts';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env) as CliConfig;

describe('cairn server --oidc-*', () => {
  it('is off without --oidc-issuer, and refuses OIDC flags without it', () => {
    expect(parse(['server']).oidc).toBeNull();
    expect(() => parse(['server', '--oidc-client-id', 'cairn'])).toThrow(
      '--oidc-client-id needs --oidc-issuer',
    );
    expect(() => parse(['server', '--oidc-issuer', 'https://id.example.com'])).toThrow(
      /needs --oidc-client-id/,
    );
    expect(() => parse(['server', '--oidc-issuer', 'not a url', '--oidc-client-id', 'c'])).toThrow(
      /is not a URL/,
    );
  });

  it('reads the secret from a file (or CAIRN_OIDC_CLIENT_SECRET) and never shows it in errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cairn-oidc-'));
    const file = path.join(dir, 'secret');
    writeFileSync(file, 's3cret-value\n');
    const cfg = parse([
      'server',
      '--oidc-issuer',
      'https://id.example.com',
      '--oidc-client-id',
      'cairn',
      '--oidc-client-secret-file',
      file,
      '--oidc-workspace',
      'team-a',
      '--oidc-default-role',
      'member',
    ]);
    expect(cfg.oidc).toMatchObject({
      issuer: 'https://id.example.com',
      clientId: 'cairn',
      clientSecret: 's3cret-value',
      workspace: 'team-a',
      defaultRole: 'member',
    });
    const fromEnv = parse(['api'], {
      CAIRN_OIDC_ISSUER: 'https://id.example.com',
      CAIRN_OIDC_CLIENT_ID: 'cairn',
      CAIRN_OIDC_CLIENT_SECRET: 'env-secret',
    });
    expect(fromEnv.oidc).toMatchObject({ clientSecret: 'env-secret', workspace: null });
    let message = '';
    try {
      parse(
        [
          'server',
          '--oidc-issuer',
          'https://id.example.com',
          '--oidc-client-id',
          'c',
          '--oidc-default-role',
          'Bad Role!',
        ],
        {
          CAIRN_OIDC_CLIENT_SECRET: 'env-secret',
        },
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('Unknown role');
    expect(message).not.toContain('env-secret');
  });
});
