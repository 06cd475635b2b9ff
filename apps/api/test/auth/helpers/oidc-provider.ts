/**
 * A real OpenID Provider for the OIDC tests: npm `oidc-provider` (node-oidc-provider, certified)
 * on a real HTTP server on a free port, with fixed clients, an RSA signing key of its own and an
 * account finder (any login name is an account; its email is `<login>@example.com` unless the
 * test sets one). Its dev login and consent forms are what a browser would fill in; `walk`
 * follows the redirects over HTTP with a cookie jar per origin and submits those forms.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export interface TestAccount {
  email?: string | null;
  emailVerified?: boolean;
  name?: string;
}

export interface TestProvider {
  issuer: string;
  accounts: Map<string, TestAccount>;
  /** Registers the clients (their redirect URIs known once the Cairn servers run) and serves. */
  start(
    clients: { clientId: string; clientSecret: string; redirectUris: string[] }[],
  ): Promise<void>;
  close(): Promise<void>;
}

export async function startTestProvider(): Promise<TestProvider> {
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null = null;
  const server = http.createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map<string, TestAccount>();
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-key-1' };
  return {
    issuer,
    accounts,
    start(clients) {
      const provider = new Provider(issuer, {
        clients: clients.map((c) => ({
          client_id: c.clientId,
          client_secret: c.clientSecret,
          redirect_uris: c.redirectUris,
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        })),
        findAccount: (_ctx, id) => {
          const account = accounts.get(id) ?? {};
          return Promise.resolve({
            accountId: id,
            claims: () =>
              Promise.resolve({
                sub: id,
                ...(account.email === null ? {} : { email: account.email ?? `${id}@example.com` }),
                email_verified: account.emailVerified ?? true,
                name: account.name ?? `Test ${id}`,
              }),
          });
        },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        cookies: { keys: ['oidc-test-cookie-key'] },
        jwks: { keys: [jwk] },
        pkce: { required: () => true },
        features: { devInteractions: { enabled: true } },
      });
      // Its dev-interaction warnings are expected here.
      provider.on('server_error', () => undefined);
      handler = provider.callback();
      return Promise.resolve();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Cookies per origin, as a browser keeps them (names only: paths do not matter here). */
export class CookieJar {
  private readonly jars = new Map<string, Map<string, string>>();

  header(url: string): string {
    const jar = this.jars.get(new URL(url).origin);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  take(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/iu.test(a) || /expires=thu, 01 jan 1970/iu.test(a),
      );
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  get(origin: string, name: string): string | undefined {
    return this.jars.get(origin)?.get(name);
  }

  set(origin: string, name: string, value: string): void {
    const jar = this.jars.get(origin) ?? new Map<string, string>();
    this.jars.set(origin, jar);
    jar.set(name, value);
  }
}

export interface Hop {
  url: string;
  status: number;
  location: string | null;
  body: string;
}

/** One request without following redirects; cookies go in and out of the jar. */
export async function hop(
  jar: CookieJar,
  url: string,
  init: { method?: string; form?: Record<string, string> } = {},
): Promise<Hop> {
  const headers: Record<string, string> = {};
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(url, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    headers,
    redirect: 'manual',
    ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
  });
  jar.take(url, response);
  const location = response.headers.get('location');
  return {
    url,
    status: response.status,
    location: location ? new URL(location, url).toString() : null,
    body: await response.text(),
  };
}

/** The action of the page's (first) POST form and its hidden inputs. */
function formOf(page: Hop): { action: string; fields: Record<string, string> } | null {
  const form = /<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/iu.exec(
    page.body,
  );
  if (!form) return null;
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/giu)) {
    const name = /name="([^"]+)"/u.exec(input[0])?.[1];
    const value = /value="([^"]*)"/u.exec(input[0])?.[1];
    if (name) fields[name] = value ?? '';
  }
  return { action: new URL(form[1]!.replaceAll('&amp;', '&'), page.url).toString(), fields };
}

/**
 * Follows redirects from `start` through the provider (filling its login form with `login`
 * and confirming its consent form) until a response that is no redirect, or one whose target
 * starts with `stopAt` (not fetched). Returns every hop.
 */
export async function walk(
  jar: CookieJar,
  start: string,
  login: string,
  stopAt?: string,
): Promise<Hop[]> {
  const hops: Hop[] = [];
  let next: { url: string; form?: Record<string, string> } | null = { url: start };
  for (let i = 0; next && i < 20; i++) {
    const h = await hop(jar, next.url, next.form ? { form: next.form } : {});
    hops.push(h);
    next = null;
    if (h.location) {
      if (stopAt && h.location.startsWith(stopAt)) break;
      next = { url: h.location };
    } else if (h.status === 200) {
      const form = formOf(h);
      if (!form) break;
      if (form.fields.prompt === 'login')
        next = { url: form.action, form: { ...form.fields, login, password: 'any' } };
      else if (form.fields.prompt === 'consent') next = { url: form.action, form: form.fields };
    }
  }
  return hops;
}
