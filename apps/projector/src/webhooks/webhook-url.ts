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

/** Link-local (cloud metadata), unspecified, multicast and reserved addresses. */
export function isRefusedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return refused.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return refused.check(address, family === 4 ? 'ipv4' : 'ipv6');
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
  if (isRefusedAddress(host) && !isExplicitlyAllowed(host, policy))
    return {
      ok: false,
      reason: `address ${host} is not allowed as a webhook target (link-local, metadata, multicast or reserved)`,
    };
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH)
    return { ok: false, reason: `url is longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  return { ok: true, url: url.href };
}
