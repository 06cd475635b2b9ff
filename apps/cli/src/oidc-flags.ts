import { readFileSync } from 'node:fs';
import { validateOidcConfig, type OidcConfig } from '@cairn/api';

/** `parseArgs` options of OIDC login (docs/auth.md, "OIDC login"). */
export const OIDC_OPTIONS = {
  'oidc-issuer': { type: 'string' },
  'oidc-client-id': { type: 'string' },
  'oidc-client-secret-file': { type: 'string' },
  'oidc-redirect-url': { type: 'string' },
  'oidc-default-role': { type: 'string' },
  'oidc-workspace': { type: 'string' },
  'oidc-provider-name': { type: 'string' },
} as const;

export const OIDC_USAGE = `  --oidc-issuer <url>    Offer "Sign in with <provider>" (OIDC, authorization code + PKCE) with
                         this issuer (env CAIRN_OIDC_ISSUER; docs/auth.md, "OIDC login")
  --oidc-client-id <id>  The client id registered at the provider (env CAIRN_OIDC_CLIENT_ID)
  --oidc-client-secret-file <file>
                         File holding the client secret (env CAIRN_OIDC_CLIENT_SECRET_FILE, or
                         the secret itself in CAIRN_OIDC_CLIENT_SECRET); none: a public client
  --oidc-redirect-url <url>
                         Callback URL registered at the provider (default
                         <this server>/auth/oidc/callback; env CAIRN_OIDC_REDIRECT_URL)
  --oidc-workspace <id>  A first-time OIDC user nobody invited joins this workspace (env
                         CAIRN_OIDC_WORKSPACE); without it such a user gets "No access"
  --oidc-default-role <r>
                         Their role there, default viewer (env CAIRN_OIDC_DEFAULT_ROLE)
  --oidc-provider-name <name>
                         The button's name (default the issuer's host; env CAIRN_OIDC_PROVIDER_NAME)`;

type OidcValues = Partial<Record<keyof typeof OIDC_OPTIONS, string>>;

/**
 * The OIDC configuration of `cairn server` / `cairn api`, or null without `--oidc-issuer`.
 * The client secret is read here and never printed (not even in errors).
 */
export function oidcConfig(
  values: OidcValues,
  env: NodeJS.ProcessEnv,
  fail: (message: string) => Error,
): OidcConfig | null {
  const pick = (flag: keyof typeof OIDC_OPTIONS, name: string): string | null => {
    const value = values[flag] ?? env[name];
    return value === undefined || value.trim() === '' ? null : value.trim();
  };
  const issuer = pick('oidc-issuer', 'CAIRN_OIDC_ISSUER');
  const clientId = pick('oidc-client-id', 'CAIRN_OIDC_CLIENT_ID');
  const secretFile = pick('oidc-client-secret-file', 'CAIRN_OIDC_CLIENT_SECRET_FILE');
  const others = [
    'oidc-client-id',
    'oidc-client-secret-file',
    'oidc-redirect-url',
    'oidc-default-role',
    'oidc-workspace',
  ] as const;
  if (!issuer) {
    const given = others.filter((f) => values[f] !== undefined);
    if (given.length > 0) throw fail(`--${given[0]} needs --oidc-issuer`);
    return null;
  }
  if (!clientId) throw fail('--oidc-issuer needs --oidc-client-id (or CAIRN_OIDC_CLIENT_ID)');
  let clientSecret: string | null = null;
  if (secretFile) {
    try {
      clientSecret = readFileSync(secretFile, 'utf8').trim();
    } catch (error) {
      throw fail(
        `Cannot read --oidc-client-secret-file ${secretFile}: ${error instanceof Error && 'code' in error ? String(error.code) : 'unreadable'}`,
      );
    }
    if (!clientSecret) throw fail(`--oidc-client-secret-file ${secretFile} is empty`);
  } else {
    const fromEnv = env.CAIRN_OIDC_CLIENT_SECRET?.trim();
    clientSecret = fromEnv ? fromEnv : null;
  }
  const config: OidcConfig = {
    issuer,
    clientId,
    clientSecret,
    redirectUrl: pick('oidc-redirect-url', 'CAIRN_OIDC_REDIRECT_URL'),
    workspace: pick('oidc-workspace', 'CAIRN_OIDC_WORKSPACE'),
    defaultRole: pick('oidc-default-role', 'CAIRN_OIDC_DEFAULT_ROLE'),
    providerName: pick('oidc-provider-name', 'CAIRN_OIDC_PROVIDER_NAME'),
  };
  try {
    validateOidcConfig(config);
  } catch (error) {
    throw fail(error instanceof Error ? error.message : String(error));
  }
  return config;
}
