import { parseList, WS_LIMITS, type HttpSecurityOptions } from '@cairn/api';

/** `parseArgs` options of the HTTP security flags (docs/api.md, "Security"). */
export const SECURITY_OPTIONS = {
  'allowed-hosts': { type: 'string' },
  'cors-allowed-origins': { type: 'string' },
  'ws-max-payload-bytes': { type: 'string' },
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
                         (env CAIRN_WS_MAX_PAYLOAD_BYTES)`;

export function securityConfig(
  values: Partial<Record<keyof typeof SECURITY_OPTIONS, string>>,
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
