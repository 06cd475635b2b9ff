import { createServer, type Server, type ServerResponse } from 'node:http';

/**
 * The health port of the roles that serve no HTTP of their own (`cairn projector`, `cairn
 * relay`), for Kubernetes probes (infra/k8s): `CAIRN_HEALTH_PORT` (unset: no port is opened).
 *
 *   GET /healthz  200 {"status":"ok"} while the process's event loop answers (liveness)
 *   GET /readyz   200 when `check()` resolves within 2 s (the database answers), else 503
 *
 * Anything else is 404. The body of /readyz carries `check()`'s details (the relay: whether it
 * holds the relay lock). It binds CAIRN_HEALTH_HOST (default 0.0.0.0: probes come from the
 * kubelet, outside the pod's loopback) and answers no data: nothing but liveness and readiness.
 */
export interface HealthServer {
  port: number;
  stop(): Promise<void>;
}

export function healthPortFromEnv(env: NodeJS.ProcessEnv = process.env): number | null {
  const raw = env.CAIRN_HEALTH_PORT;
  if (raw === undefined || raw === '') return null;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`CAIRN_HEALTH_PORT must be a port number (0-65535), got "${raw}"`);
  return port;
}

export async function startHealthServer(opts: {
  port: number;
  host?: string;
  role: string;
  check: () => Promise<Record<string, unknown>>;
  timeoutMs?: number;
}): Promise<HealthServer> {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'GET only' });
    if (path === '/healthz') return send(res, 200, { status: 'ok', role: opts.role });
    if (path !== '/readyz') return send(res, 404, { error: 'not found' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`readiness check took over ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    Promise.race([opts.check(), timeout])
      .then(
        (details) => send(res, 200, { ready: true, role: opts.role, ...details }),
        (error: unknown) =>
          send(res, 503, {
            ready: false,
            role: opts.role,
            error: error instanceof Error ? error.message : String(error),
          }),
      )
      .finally(() => clearTimeout(timer));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? process.env.CAIRN_HEALTH_HOST ?? '0.0.0.0', () =>
      resolve(),
    );
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
