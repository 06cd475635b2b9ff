import { BlockList, isIP } from 'node:net';
import { parseList, WS_LIMITS, type HttpSecurityOptions } from '@cairn/api';

/** `parseArgs` options of the HTTP security flags (docs/api.md, "Security"). */
export const SECURITY_OPTIONS = {
  'allowed-hosts': { type: 'string' },
  'cors-allowed-origins': { type: 'string' },
  'ws-max-payload-bytes': { type: 'string' },
  auth: { type: 'string' },
  'insecure-no-auth': { type: 'boolean' },
} as const;

export const SECURITY_USAGE = `  --allowed-hosts <list>  Host headers served besides the bound address, localhost, 127.0.0.1
                         and [::1] (name or name:port, comma-separated; * allows any) (env
                         CAIRN_ALLOWED_HOSTS); other hosts get 403 (DNS rebinding)
  --cors-allowed-origins <list>
                         Origins whose pages may call the API besides its own (e.g.
                         http://localhost:3000, comma-separated; * allows any) (env
                         CAIRN_CORS_ALLOWED_ORIGINS); other origins get 403 and no CORS headers
  --ws-max-payload-bytes <n>
                         Largest graphql-ws frame, default ${WS_LIMITS.maxPayloadBytes} (1 MiB)
                         (env CAIRN_WS_MAX_PAYLOAD_BYTES)
  --auth required|off    Whether requests need an API key (env CAIRN_AUTH, default off; docs/auth.md).
                         Off is only allowed on a loopback --host (127.0.0.0/8, ::1, localhost)
  --insecure-no-auth     Serve a non-loopback --host without authentication anyway (loud warning)
                         (env CAIRN_INSECURE_NO_AUTH=1, for containers whose port is published on
                         loopback only)`;

export function securityConfig(
  values: Partial<
    Record<'allowed-hosts' | 'cors-allowed-origins' | 'ws-max-payload-bytes', string>
  >,
  env: NodeJS.ProcessEnv,
  /** Builds the error a bad value throws (the CLI's UsageError). */
  fail: (message: string) => Error,
): HttpSecurityOptions {
  const payloadText = values['ws-max-payload-bytes'] ?? env.CAIRN_WS_MAX_PAYLOAD_BYTES;
  const wsMaxPayloadBytes = payloadText === undefined ? undefined : Number(payloadText);
  if (
    wsMaxPayloadBytes !== undefined &&
    (!Number.isSafeInteger(wsMaxPayloadBytes) || wsMaxPayloadBytes < 1024)
  )
    throw fail(
      `Invalid --ws-max-payload-bytes "${payloadText}": give a whole number of bytes, at least 1024`,
    );
  const origins = parseList(values['cors-allowed-origins'] ?? env.CAIRN_CORS_ALLOWED_ORIGINS);
  for (const origin of origins) {
    if (origin === '*') continue;
    let ok = false;
    try {
      const url = new URL(origin);
      ok =
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        url.origin === origin.replace(/\/$/u, '').toLowerCase();
    } catch {
      ok = false;
    }
    if (!ok)
      throw fail(
        `Invalid origin "${origin}" in --cors-allowed-origins: use scheme://host[:port], e.g. http://localhost:3000`,
      );
  }
  return {
    allowedHosts: parseList(values['allowed-hosts'] ?? env.CAIRN_ALLOWED_HOSTS),
    corsAllowedOrigins: origins,
    ...(wsMaxPayloadBytes === undefined ? {} : { wsMaxPayloadBytes }),
  };
}

export type AuthMode = 'off' | 'required';

export interface AuthConfig {
  mode: AuthMode;
  /** `--insecure-no-auth`: auth off on a non-loopback host was asked for explicitly. */
  insecureNoAuth: boolean;
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 (also as ::ffff:127.x.y.z), ::1 (bracketed or written out) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/gu, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/u.exec(h)?.[1];
  const address = mapped ?? h;
  const family = isIP(address);
  return family !== 0 && loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * `--auth` / `CAIRN_AUTH` and `--insecure-no-auth`. `serves`: the command binds an HTTP server
 * (`server`, `api`); then auth off on a host that is not loopback refuses to start.
 */
export function authConfig(
  values: { auth?: string; 'insecure-no-auth'?: boolean },
  env: NodeJS.ProcessEnv,
  bind: { host: string; serves: boolean },
  fail: (message: string) => Error,
): AuthConfig {
  const given = values.auth ?? (env.CAIRN_AUTH?.trim() || 'off');
  const text = given.trim().toLowerCase();
  if (text !== 'off' && text !== 'required')
    throw fail(`Invalid --auth "${given}": give required or off`);
  const mode: AuthMode = text;
  const envInsecure = env.CAIRN_INSECURE_NO_AUTH?.trim().toLowerCase();
  const insecureNoAuth =
    values['insecure-no-auth'] ?? (envInsecure === '1' || envInsecure === 'true');
  if (bind.serves && mode === 'off' && !insecureNoAuth && !isLoopbackHost(bind.host))
    throw fail(
      `Refusing to serve ${bind.host} without authentication: anyone who can reach it could read and change every workspace. ` +
        'Start with --auth required (keys: cairn keys create --workspace W --role admin), bind a loopback ' +
        'address (--host 127.0.0.1), or pass --insecure-no-auth if a proxy in front authenticates every request.',
    );
  return { mode, insecureNoAuth };
}
