import { afterAll, describe, expect, it } from 'vitest';
import { healthPortFromEnv, startHealthServer, type HealthServer } from '../src/health-server.ts';

// The projector's and the relay's probe port (infra/k8s): a real HTTP server on a free port.
describe('health server', () => {
  let healthy = true;
  const servers: HealthServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function start(check: () => Promise<Record<string, unknown>>, timeoutMs?: number) {
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      role: 'relay',
      check,
      timeoutMs,
    });
    servers.push(server);
    return `http://127.0.0.1:${server.port}`;
  }

  it('answers /healthz, and /readyz from the check: 200 with its details, 503 when it fails', async () => {
    const url = await start(() =>
      healthy ? Promise.resolve({ active: true }) : Promise.reject(new Error('database down')),
    );
    const live = await fetch(`${url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok', role: 'relay' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, role: 'relay', active: true });
    healthy = false;
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ready: false, error: 'database down' });
    expect((await fetch(`${url}/graphql`)).status).toBe(404);
    expect((await fetch(`${url}/readyz`, { method: 'POST' })).status).toBe(405);
  });

  it('is not ready when the check hangs past its timeout', async () => {
    const url = await start(() => new Promise(() => undefined), 100);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/over 100 ms/);
  });

  it('reads CAIRN_HEALTH_PORT: unset means no port, a bad value is refused', () => {
    expect(healthPortFromEnv({})).toBeNull();
    expect(healthPortFromEnv({ CAIRN_HEALTH_PORT: '8081' })).toBe(8081);
    expect(() => healthPortFromEnv({ CAIRN_HEALTH_PORT: 'http' })).toThrow(/port number/);
    expect(() => healthPortFromEnv({ CAIRN_HEALTH_PORT: '70000' })).toThrow(/port number/);
  });
});
