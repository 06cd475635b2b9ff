import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressRefusal, isExplicitlyAllowed, type WebhookHostPolicy } from './webhook-url.ts';

export interface PostResult {
  statusCode: number | null;
  error: string | null;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/**
 * Resolves like the default lookup, then refuses the connection when an address is one a webhook
 * must never reach (link-local / metadata, …). Checked on the address actually connected to, so
 * a host name that resolves differently at send time than at creation (DNS rebinding) is caught.
 */
export function guardedLookup(policy: WebhookHostPolicy): LookupFunction {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const refused = isExplicitlyAllowed(hostname, policy)
        ? undefined
        : addresses.find((a) => addressRefusal(a.address, policy) !== null);
      if (refused) {
        const err: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to ${refused.address}, which is not allowed as a webhook target (${addressRefusal(refused.address, policy)})`,
        );
        err.code = 'EWEBHOOKREFUSED';
        return callback(err, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`), []);
      callback(null, first.address, first.family);
    });
  };
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const text = e instanceof Error ? e.message : String(error);
  return (e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text).slice(0, 500);
}

/**
 * One POST: no redirects followed (a 3xx is a failed attempt), a hard deadline for the whole
 * exchange up to the response status, a fresh connection each time.
 */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; policy: WebhookHostPolicy },
): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, {
      method: 'POST',
      agent: false,
      lookup: guardedLookup(opts.policy),
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    req.on('response', (res) => {
      // The body is not needed; drain it so the socket closes cleanly.
      res.resume();
      res.on('error', () => undefined);
      finish({ statusCode: res.statusCode ?? null, error: null });
    });
    req.on('error', (error) => finish({ statusCode: null, error: describe(error) }));
    req.end(body);
  });
}
