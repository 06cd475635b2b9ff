import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  TargetError,
  type DeploymentTarget,
  type TargetContext,
  type TargetDeployment,
  type TargetListing,
  type TargetState,
} from './target.ts';

/**
 * `local`: runs the scoring server (`python -m cairn.models serve --deployment NAME --port P`)
 * as a child process of the API (docs/deployment.md, "Targets"). Supervision is deliberately
 * small: spawn, record the endpoint (PENDING), READY once /ping answers, FAILED with the exit
 * code and the end of stderr when it exits unasked; killed on delete and when the API stops.
 * `start: false` records the deployment without running anything (a server started by hand).
 */

export interface LocalConfig {
  host: string;
  port: number | null;
  workers: number | null;
  timeoutSeconds: number | null;
  start: boolean;
}

const BIND_HOSTS = new Set(['127.0.0.1', '::1', '0.0.0.0', '::']);
const KEYS = new Set(['host', 'port', 'workers', 'timeoutSeconds', 'start']);

function invalid(message: string, field: string): TargetError {
  return new TargetError('INVALID_ARGUMENT', message, { field: `config.${field}` });
}

export function validateLocalConfig(config: Record<string, unknown>): LocalConfig {
  for (const key of Object.keys(config))
    if (!KEYS.has(key))
      throw invalid(
        `Unknown local target option "${key.slice(0, 80)}"; known: ${[...KEYS].join(', ')}`,
        key,
      );
  const int = (key: string, min: number, max: number): number | null => {
    const v = config[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw invalid(`config.${key} must be an integer from ${min} to ${max}`, key);
    return v;
  };
  // The address the server binds on this machine: loopback, or every interface. Predictions
  // through the API always go to loopback (the API never calls an address a client chose).
  const host = config.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !BIND_HOSTS.has(host))
    throw invalid(`config.host must be one of ${[...BIND_HOSTS].join(', ')}`, 'host');
  const timeout = config.timeoutSeconds;
  if (
    timeout !== undefined &&
    timeout !== null &&
    (typeof timeout !== 'number' || !(timeout > 0) || timeout > 3600)
  )
    throw invalid('config.timeoutSeconds must be a number of seconds up to 3600', 'timeoutSeconds');
  const start = config.start ?? true;
  if (typeof start !== 'boolean') throw invalid('config.start must be a boolean', 'start');
  return {
    host,
    port: int('port', 1, 65535),
    workers: int('workers', 1, 64),
    timeoutSeconds: typeof timeout === 'number' ? timeout : null,
    start,
  };
}

/**
 * CAIRN_PYTHON, else the SDK's virtualenv of this checkout, else python3. The checkout is found
 * by walking up from this module: it runs from its source (apps/api/src/…) and bundled into the
 * compiled server (apps/cli/dist), at different depths.
 */
export function pythonExecutable(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAIRN_PYTHON) return env.CAIRN_PYTHON;
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    const venv = path.join(dir, 'sdks/python/.venv/bin/python');
    if (existsSync(venv)) return venv;
    if (path.dirname(dir) === dir) return 'python3';
  }
}

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Running {
  deployment: TargetDeployment;
  child: ChildProcess;
  endpoint: string;
  configKey: string;
  state: TargetState;
  stopping: boolean;
  exited: Promise<void>;
  stderr: string;
}

const key = (d: { workspaceId: string; deploymentId: string }) =>
  `${d.workspaceId}/${d.deploymentId}`;

export class LocalTarget implements DeploymentTarget {
  readonly name = 'local';
  private readonly running = new Map<string, Running>();

  constructor(private readonly opts: { readyTimeoutMs?: number } = {}) {}

  validateConfig(config: Record<string, unknown>): Record<string, unknown> {
    const c = validateLocalConfig(config);
    const out: Record<string, unknown> = { host: c.host, start: c.start };
    if (c.port !== null) out.port = c.port;
    if (c.workers !== null) out.workers = c.workers;
    if (c.timeoutSeconds !== null) out.timeoutSeconds = c.timeoutSeconds;
    return out;
  }

  async create(deployment: TargetDeployment, ctx: TargetContext): Promise<TargetState> {
    const config = validateLocalConfig(deployment.config);
    if (!config.start)
      return {
        status: 'PENDING',
        endpoint: null,
        manifests: null,
        message: 'not started by the API (config.start is false)',
      };
    const existing = this.running.get(key(deployment));
    if (existing && !existing.stopping) return existing.state;
    return this.start(deployment, config, ctx);
  }

  async update(deployment: TargetDeployment, ctx: TargetContext): Promise<TargetState> {
    const config = validateLocalConfig(deployment.config);
    const existing = this.running.get(key(deployment));
    // Weights and URIs: the serving process follows deploymentChanged itself. A different
    // process configuration (port, workers, ...) needs a restart.
    if (existing && existing.configKey === JSON.stringify(config) && !existing.stopping)
      return existing.state;
    if (existing) await this.kill(existing);
    return this.create(deployment, ctx);
  }

  async delete(deployment: TargetDeployment): Promise<void> {
    const existing = this.running.get(key(deployment));
    if (existing) await this.kill(existing);
  }

  list(ctx: TargetContext): Promise<TargetListing[]> {
    return Promise.resolve(
      [...this.running.values()]
        .filter((r) => r.deployment.workspaceId === ctx.workspaceId)
        .map((r) => ({ name: r.deployment.name, state: r.state })),
    );
  }

  get(deployment: TargetDeployment): Promise<TargetState | null> {
    return Promise.resolve(this.running.get(key(deployment))?.state ?? null);
  }

  async predict(deployment: TargetDeployment, input: unknown): Promise<unknown> {
    const endpoint = this.running.get(key(deployment))?.endpoint;
    if (!endpoint)
      throw new TargetError(
        'FAILED_PRECONDITION',
        `Deployment "${deployment.name}" is not running`,
      );
    const res = await fetch(`${endpoint}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
      signal: AbortSignal.timeout(60_000),
    });
    const body: unknown = await res.json();
    if (!res.ok)
      throw new TargetError('INVALID_ARGUMENT', `The scoring server answered ${res.status}`, {
        body,
      });
    return body;
  }

  explain(deployment: TargetDeployment): Promise<unknown> {
    return Promise.reject(
      new TargetError(
        'FAILED_PRECONDITION',
        `The local scoring server of "${deployment.name}" does not explain predictions`,
      ),
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => this.kill(r)));
  }

  private async start(
    deployment: TargetDeployment,
    config: LocalConfig,
    ctx: TargetContext,
  ): Promise<TargetState> {
    const port = config.port ?? (await freePort(config.host));
    const loopback = config.host === '::' || config.host === '::1' ? '[::1]' : '127.0.0.1';
    const endpoint = `http://${loopback}:${port}`;
    const args = [
      '-m',
      'cairn.models',
      'serve',
      '--deployment',
      deployment.name,
      '--port',
      String(port),
      '--host',
      config.host,
    ];
    if (config.workers !== null) args.push('--workers', String(config.workers));
    if (config.timeoutSeconds !== null) args.push('--timeout', String(config.timeoutSeconds));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CAIRN_WORKSPACE: deployment.workspaceId,
      CAIRN_DEPLOYMENT: deployment.name,
    };
    if (ctx.trackingUri) env.CAIRN_TRACKING_URI = ctx.trackingUri;
    const child = spawn(pythonExecutable(), args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const state: TargetState = { status: 'PENDING', endpoint, manifests: null, message: null };
    let resolveExit!: () => void;
    const running: Running = {
      deployment,
      child,
      endpoint,
      configKey: JSON.stringify(config),
      state,
      stopping: false,
      exited: new Promise<void>((resolve) => (resolveExit = resolve)),
      stderr: '',
    };
    this.running.set(key(deployment), running);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      running.stderr = (running.stderr + chunk).slice(-2000);
    });
    const report = (next: TargetState) => {
      running.state = next;
      ctx
        .reportStatus(deployment, next)
        .catch((error: unknown) =>
          ctx.log(`deployments: recording the status of "${deployment.name}" failed`, error),
        );
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
      resolveExit();
      if (this.running.get(key(deployment)) === running) this.running.delete(key(deployment));
      if (running.stopping) return;
      const tail = running.stderr.trim().split('\n').slice(-5).join('\n');
      const why = error
        ? `could not start ${pythonExecutable()}: ${error.message}`
        : `the scoring server exited (${signal ?? `code ${code}`})`;
      report({
        status: 'FAILED',
        endpoint: null,
        manifests: null,
        message: tail ? `${why}: ${tail}` : why,
      });
    };
    child.once('error', (error) => onExit(null, null, error));
    child.once('exit', (code, signal) => onExit(code, signal));
    void this.watchReady(running, report);
    return state;
  }

  /** Polls /ping until the server answers (READY) or exits; gives up after readyTimeoutMs. */
  private async watchReady(running: Running, report: (s: TargetState) => void): Promise<void> {
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 120_000);
    let exited = false;
    void running.exited.then(() => (exited = true));
    while (!exited && !running.stopping && Date.now() < deadline) {
      try {
        const res = await fetch(`${running.endpoint}/ping`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) {
          if (!exited && !running.stopping)
            report({ status: 'READY', endpoint: running.endpoint, manifests: null, message: null });
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    if (!exited && !running.stopping) {
      report({
        status: 'FAILED',
        endpoint: running.endpoint,
        manifests: null,
        message: 'the scoring server did not answer /ping in time; stopped',
      });
      running.stopping = true;
      running.child.kill('SIGKILL');
    }
  }

  private async kill(running: Running): Promise<void> {
    running.stopping = true;
    if (running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGTERM');
      const timer = setTimeout(() => running.child.kill('SIGKILL'), 5000);
      await running.exited;
      clearTimeout(timer);
    }
    this.running.delete(key(running.deployment));
  }
}
