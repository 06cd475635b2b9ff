/**
 * Which `Host` and `Origin` headers the server answers (docs/api.md, "Security"). Pure: the
 * request guard (request-guard.ts) applies it to HTTP requests and WebSocket upgrades.
 *
 * - Host: DNS rebinding makes a browser send a page's requests to 127.0.0.1 with the attacker's
 *   name in `Host`. Allowed by default: the bound address, `localhost`, `127.0.0.1`, `[::1]` and
 *   the literal IP address the connection arrived on, each with or without the port; plus
 *   `allowedHosts` (`*` allows any). A request without `Host` (HTTP/1.0) is allowed.
 * - Origin: same origin (the Origin's host equals the request's Host) or one of
 *   `corsAllowedOrigins` (`*` allows any). A request without `Origin` is not from a page (curl,
 *   SDKs, Node) and is allowed; `Origin: null` is a foreign origin.
 */

export interface OriginPolicyOptions {
  /** The address the server binds (`--host`). */
  boundHost?: string;
  /** Extra host names (`--allowed-hosts`), with or without a port; `*` allows any. */
  allowedHosts?: readonly string[];
  /** Extra origins (`--cors-allowed-origins`), as `scheme://host[:port]`; `*` allows any. */
  corsAllowedOrigins?: readonly string[];
}

export type OriginVerdict =
  /** No Origin header: not a browser page's request. */
  | 'none'
  | 'same-origin'
  /** Another origin, listed in corsAllowedOrigins. */
  | 'allowed'
  | 'refused';

export interface OriginPolicy {
  /** Whether a request with this Host header may be served (the connection's port and address). */
  hostAllowed(
    host: string | undefined,
    localPort: number | undefined,
    localAddress?: string,
  ): boolean;
  origin(origin: string | undefined, host: string | undefined): OriginVerdict;
}

/** `a, b,,c` → `['a', 'b', 'c']` (flags and environment variables). */
export function parseList(text: string | undefined | null): string[] {
  if (!text) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `[::1]:4680` → `{ name: '[::1]', port: '4680' }`; names lower-cased, IPv6 kept in brackets. */
export function splitHost(host: string): { name: string; port: string | null } {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return { name: h, port: null };
    const rest = h.slice(end + 1);
    return { name: h.slice(0, end + 1), port: rest.startsWith(':') ? rest.slice(1) : null };
  }
  const colon = h.lastIndexOf(':');
  if (colon >= 0 && h.indexOf(':') === colon)
    return { name: h.slice(0, colon).replace(/\.$/u, ''), port: h.slice(colon + 1) };
  // A bare IPv6 address (as in `--host ::1`): bracket it, as a Host header would.
  if (colon >= 0) return { name: `[${h}]`, port: null };
  return { name: h.replace(/\.$/u, ''), port: null };
}

const ipv6Name = (address: string) => (address.includes(':') ? `[${address}]` : address);

/** The default-port-free `host[:port]` of an origin, or null when it is not an http(s) origin. */
export function originHost(origin: string): string | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.host.toLowerCase();
}

function normaliseOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? null : url.origin.toLowerCase();
  } catch {
    return null;
  }
}

export function createOriginPolicy(options: OriginPolicyOptions = {}): OriginPolicy {
  const anyHost = options.allowedHosts?.includes('*') ?? false;
  const anyOrigin = options.corsAllowedOrigins?.includes('*') ?? false;
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (options.boundHost) names.add(splitHost(options.boundHost).name);
  /** Extra hosts: `name` (any port) or `name:port`. */
  const extra = (options.allowedHosts ?? []).filter((h) => h !== '*').map(splitHost);
  const origins = new Set(
    (options.corsAllowedOrigins ?? [])
      .filter((o) => o !== '*')
      .map(normaliseOrigin)
      .filter((o): o is string => o !== null),
  );

  return {
    hostAllowed(host, localPort, localAddress) {
      if (anyHost || host === undefined) return true;
      const { name, port } = splitHost(host);
      const portOk = port === null || port === String(localPort ?? '');
      if (portOk && names.has(name)) return true;
      // The literal address the client connected to (a wildcard bind reached by its IP).
      if (portOk && localAddress) {
        const local = localAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/u, '');
        if (name === ipv6Name(local.toLowerCase()) || name === ipv6Name(localAddress.toLowerCase()))
          return true;
      }
      return extra.some((e) => e.name === name && (e.port === null || e.port === port));
    },
    origin(origin, host) {
      if (origin === undefined) return 'none';
      const fromHost = originHost(origin);
      if (fromHost !== null && host !== undefined) {
        const self = host.trim().toLowerCase();
        const scheme = origin.toLowerCase().startsWith('https:') ? ':443' : ':80';
        const selfNoDefaultPort = self.endsWith(scheme) ? self.slice(0, -scheme.length) : self;
        if (fromHost === selfNoDefaultPort) return 'same-origin';
      }
      if (anyOrigin && origin !== 'null') return 'allowed';
      const normalised = normaliseOrigin(origin);
      return normalised !== null && origins.has(normalised) ? 'allowed' : 'refused';
    },
  };
}
