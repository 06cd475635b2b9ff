import { BlockList, isIP } from 'node:net';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Which targets webhooks may reach. `allowedHosts` null: any host, except addresses that are
 * never a webhook receiver (link-local, where cloud metadata services live; unspecified;
 * multicast; reserved). A list (env `CAIRN_WEBHOOK_ALLOWED_HOSTS`, comma-separated: `hooks.example.com`,
 * `*.example.com`, `10.0.0.7`): only those hosts; a host named explicitly may then also be one of
 * the refused addresses.
 */
export interface WebhookHostPolicy {
  allowedHosts: readonly string[] | null;
  /**
   * Also refuse loopback and private-network targets (127/8, 10/8, 172.16/12, 192.168/16,
   * 100.64/10, ::1, fc00::/7, fec0::/10, `localhost`), in every IPv6 spelling, unless named
   * explicitly in `allowedHosts`. The CLI sets it when the server binds beyond loopback
   * (docs/webhooks.md, "Targets").
   */
  refusePrivate?: boolean;
}

export const OPEN_HOST_POLICY: WebhookHostPolicy = { allowedHosts: null };

export function parseAllowedHosts(value: string | undefined): string[] | null {
  if (value === undefined || value.trim() === '') return null;
  return value
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
}

const refused = new BlockList();
refused.addSubnet('0.0.0.0', 8, 'ipv4');
refused.addSubnet('169.254.0.0', 16, 'ipv4');
refused.addAddress('100.100.100.200', 'ipv4');
refused.addSubnet('224.0.0.0', 4, 'ipv4');
refused.addSubnet('240.0.0.0', 4, 'ipv4');
refused.addAddress('::', 'ipv6');
refused.addSubnet('fe80::', 10, 'ipv6');
refused.addSubnet('ff00::', 8, 'ipv6');
refused.addAddress('fd00:ec2::254', 'ipv6');

const privateNetworks = new BlockList();
privateNetworks.addSubnet('127.0.0.0', 8, 'ipv4');
privateNetworks.addSubnet('10.0.0.0', 8, 'ipv4');
privateNetworks.addSubnet('172.16.0.0', 12, 'ipv4');
privateNetworks.addSubnet('192.168.0.0', 16, 'ipv4');
privateNetworks.addSubnet('100.64.0.0', 10, 'ipv4');
privateNetworks.addAddress('::1', 'ipv6');
privateNetworks.addSubnet('fc00::', 7, 'ipv6');
privateNetworks.addSubnet('fec0::', 10, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 allowed), or null. */
function ipv6Groups(address: string): number[] | null {
  if (isIP(address) !== 6) return null;
  let text = address.toLowerCase().replace(/%.*$/u, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/u.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address carries: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
 * (::a.b.c.d, deprecated but routed by some stacks), NAT64 (64:ff9b::/96, RFC 6052), 6to4
 * (2002:AABB:CCDD::/16). `::` and `::1` carry none.
 */
export function embeddedIPv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g) return null;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = g;
  const zeros = (xs: (number | undefined)[]) => xs.every((x) => x === 0);
  if (zeros([g0, g1, g2, g3, g4]) && g5 === 0xffff) return v4(g6, g7);
  if (zeros([g0, g1, g2, g3, g4, g5]) && (g6 !== 0 || g7 > 1)) return v4(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && zeros([g2, g3, g4, g5])) return v4(g6, g7);
  if (g0 === 0x2002) return v4(g1 ?? 0, g2 ?? 0);
  return null;
}

function inList(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const carried = family === 6 ? embeddedIPv4(address) : null;
  if (carried !== null && list.check(carried, 'ipv4')) return true;
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Link-local (cloud metadata), unspecified, multicast and reserved addresses, also written as
 * IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 (`[::169.254.169.254]`, `[64:ff9b::a9fe:a9fe]`).
 */
export function isRefusedAddress(address: string): boolean {
  return inList(refused, address);
}

/** Loopback and private networks (see `WebhookHostPolicy.refusePrivate`), in any IPv6 form. */
export function isPrivateAddress(address: string): boolean {
  const host = bareHost(address);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return inList(privateNetworks, host);
}

/** Why `address` (an IP address or a name) may not be a target under `policy`, or null. */
export function addressRefusal(address: string, policy: WebhookHostPolicy): string | null {
  if (isExplicitlyAllowed(address, policy)) return null;
  const host = bareHost(address);
  if (isRefusedAddress(host)) return 'link-local, metadata, multicast or reserved';
  if (policy.refusePrivate && isPrivateAddress(host))
    return 'loopback or private network, refused on a server bound beyond loopback unless CAIRN_WEBHOOK_ALLOWED_HOSTS names it';
  return null;
}

/** The host as URL parsing gives it, without IPv6 brackets, lower case. */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export function isExplicitlyAllowed(hostname: string, policy: WebhookHostPolicy): boolean {
  const host = bareHost(hostname);
  return policy.allowedHosts?.includes(host) ?? false;
}

export function isHostAllowed(hostname: string, policy: WebhookHostPolicy): boolean {
  if (!policy.allowedHosts) return true;
  const host = bareHost(hostname);
  return policy.allowedHosts.some((pattern) =>
    pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern,
  );
}

export type WebhookUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Validates a webhook target: http or https only, no credentials, at most 2048 characters, a
 * host the policy allows, not a refused address. Answers the normalised URL.
 * Host names are checked again at send time against the address they resolve to.
 */
export function checkWebhookUrl(raw: string, policy: WebhookHostPolicy): WebhookUrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    return { ok: false, reason: `url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, reason: 'url is not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: `url scheme must be http or https, not ${url.protocol}` };
  if (url.username !== '' || url.password !== '')
    return { ok: false, reason: 'url must not contain credentials' };
  if (url.hostname === '') return { ok: false, reason: 'url has no host' };
  if (url.hash !== '') return { ok: false, reason: 'url must not contain a fragment' };
  if (!isHostAllowed(url.hostname, policy))
    return {
      ok: false,
      reason: `host ${url.hostname} is not in CAIRN_WEBHOOK_ALLOWED_HOSTS`,
    };
  const host = bareHost(url.hostname);
  const refusal = addressRefusal(host, policy);
  if (refusal !== null)
    return { ok: false, reason: `address ${host} is not allowed as a webhook target (${refusal})` };
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH)
    return { ok: false, reason: `url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  return { ok: true, url: url.href };
}
