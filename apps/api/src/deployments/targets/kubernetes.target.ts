import { spawn, spawnSync } from 'node:child_process';
import type { Deployment as K8sDeployment } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { EnvVar, Probe, Service } from 'kubernetes-types/core/v1.js';
import {
  TargetError,
  type DeploymentTarget,
  type TargetContext,
  type TargetDeployment,
  type TargetListing,
  type TargetState,
} from './target.ts';

/**
 * `kubernetes`: renders a Deployment, a Service and a HorizontalPodAutoscaler for the scoring
 * server (docs/deployment.md, "Targets"), exposed as the deployment's `manifests`. With
 * `config.apply` it applies them with `kubectl` (which must be on PATH, else the create is
 * refused with FAILED_PRECONDITION); without, nothing leaves the server.
 */

export interface KubernetesConfig {
  image: string;
  namespace: string;
  replicas: number;
  minReplicas: number;
  maxReplicas: number;
  targetCpuUtilization: number;
  port: number;
  workers: number;
  resources: {
    requests: Record<string, string>;
    limits: Record<string, string>;
  };
  env: Record<string, string>;
  trackingUri: string | null;
  serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  apply: boolean;
}

const KEYS = new Set([
  'image',
  'namespace',
  'replicas',
  'minReplicas',
  'maxReplicas',
  'targetCpuUtilization',
  'port',
  'workers',
  'resources',
  'env',
  'trackingUri',
  'serviceType',
  'apply',
]);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/u;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/u;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/u;

function invalid(message: string, field: string): TargetError {
  return new TargetError('INVALID_ARGUMENT', message, { field: `config.${field}` });
}

function quantities(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalid(`config.${field} must be an object of cpu / memory quantities`, field);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k !== 'cpu' && k !== 'memory')
      throw invalid(`config.${field} takes cpu and memory, not "${k.slice(0, 40)}"`, field);
    const q = typeof v === 'number' ? String(v) : v;
    if (typeof q !== 'string' || !QUANTITY.test(q))
      throw invalid(`config.${field}.${k} must be a Kubernetes quantity (e.g. 500m, 1Gi)`, field);
    out[k] = q;
  }
  return out;
}

export function validateKubernetesConfig(config: Record<string, unknown>): KubernetesConfig {
  for (const key of Object.keys(config))
    if (!KEYS.has(key))
      throw invalid(
        `Unknown kubernetes target option "${key.slice(0, 80)}"; known: ${[...KEYS].join(', ')}`,
        key,
      );
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = config[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw invalid(`config.${key} must be an integer from ${min} to ${max}`, key);
    return v;
  };
  const image = config.image;
  if (typeof image !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/u.test(image))
    throw invalid(
      'config.image is required: the scoring server image (python -m cairn.models build-docker)',
      'image',
    );
  const namespace = config.namespace ?? 'default';
  if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace))
    throw invalid('config.namespace must be a DNS label', 'namespace');
  const replicas = int('replicas', 1, 0, 1000);
  const minReplicas = int('minReplicas', Math.max(1, replicas), 1, 1000);
  const maxReplicas = int('maxReplicas', Math.max(minReplicas, replicas, 3), 1, 1000);
  if (maxReplicas < minReplicas)
    throw invalid('config.maxReplicas must be at least minReplicas', 'maxReplicas');
  const resources = config.resources ?? {};
  if (typeof resources !== 'object' || resources === null || Array.isArray(resources))
    throw invalid('config.resources must be { requests, limits }', 'resources');
  const r = resources as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (k !== 'requests' && k !== 'limits')
      throw invalid('config.resources takes requests and limits', 'resources');
  const env = config.env ?? {};
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    throw invalid('config.env must be an object of strings', 'env');
  for (const [k, v] of Object.entries(env as Record<string, unknown>))
    if (!ENV_NAME.test(k) || typeof v !== 'string')
      throw invalid(`config.env.${k.slice(0, 40)} must be a string under a valid name`, 'env');
  const trackingUri = config.trackingUri ?? null;
  if (
    trackingUri !== null &&
    (typeof trackingUri !== 'string' || !/^https?:\/\//u.test(trackingUri))
  )
    throw invalid('config.trackingUri must be an http(s) URL', 'trackingUri');
  const serviceType = config.serviceType ?? 'ClusterIP';
  if (serviceType !== 'ClusterIP' && serviceType !== 'NodePort' && serviceType !== 'LoadBalancer')
    throw invalid('config.serviceType must be ClusterIP, NodePort or LoadBalancer', 'serviceType');
  const apply = config.apply ?? false;
  if (typeof apply !== 'boolean') throw invalid('config.apply must be a boolean', 'apply');
  return {
    image,
    namespace,
    replicas,
    minReplicas,
    maxReplicas,
    targetCpuUtilization: int('targetCpuUtilization', 80, 1, 100),
    port: int('port', 8080, 1, 65535),
    workers: int('workers', 1, 1, 64),
    resources: {
      requests: quantities(r.requests, 'resources.requests'),
      limits: quantities(r.limits, 'resources.limits'),
    },
    env: env as Record<string, string>,
    trackingUri,
    serviceType,
    apply,
  };
}

/** A DNS-1123 label from a deployment name (lower case, "." and "_" → "-", at most 63). */
export function kubernetesName(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]/gu, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/gu, '');
  return label.length > 0 ? label : 'cairn-deployment';
}

/**
 * The three objects, as plain JSON (what the YAML says). Typed with the Kubernetes API types
 * (kubernetes-types), so a misspelt field is a compile error; the test validates them against
 * the API's JSON schemas.
 */
export function kubernetesObjects(
  deployment: Pick<TargetDeployment, 'name' | 'workspaceId'>,
  config: KubernetesConfig,
  trackingUri: string | null,
): [K8sDeployment, Service, HorizontalPodAutoscaler] {
  const name = kubernetesName(deployment.name);
  const labels = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/managed-by': 'cairn',
    'cairn.dev/deployment': name,
  };
  const env: EnvVar[] = [
    { name: 'CAIRN_DEPLOYMENT', value: deployment.name },
    { name: 'CAIRN_WORKSPACE', value: deployment.workspaceId },
    ...((config.trackingUri ?? trackingUri)
      ? [{ name: 'CAIRN_TRACKING_URI', value: (config.trackingUri ?? trackingUri)! }]
      : []),
    ...Object.entries(config.env).map(([k, v]) => ({ name: k, value: v })),
  ];
  const probe = (initialDelaySeconds: number): Probe => ({
    httpGet: { path: '/ping', port: 'http' },
    initialDelaySeconds,
    periodSeconds: 5,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  const resources: Record<string, Record<string, string>> = {};
  if (Object.keys(config.resources.requests).length > 0)
    resources.requests = config.resources.requests;
  if (Object.keys(config.resources.limits).length > 0) resources.limits = config.resources.limits;
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: config.namespace, labels },
      spec: {
        replicas: config.replicas,
        selector: { matchLabels: { 'cairn.dev/deployment': name } },
        template: {
          metadata: { labels },
          spec: {
            securityContext: { runAsNonRoot: true },
            containers: [
              {
                name: 'scoring-server',
                image: config.image,
                args: [
                  'python',
                  '-m',
                  'cairn.models',
                  'serve',
                  '--deployment',
                  deployment.name,
                  '--host',
                  '0.0.0.0',
                  '--port',
                  String(config.port),
                  '--workers',
                  String(config.workers),
                ],
                ports: [{ name: 'http', containerPort: config.port, protocol: 'TCP' }],
                env,
                resources,
                readinessProbe: probe(5),
                livenessProbe: probe(30),
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: config.namespace, labels },
      spec: {
        type: config.serviceType,
        selector: { 'cairn.dev/deployment': name },
        ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      },
    },
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name, namespace: config.namespace, labels },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: config.minReplicas,
        maxReplicas: config.maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: config.targetCpuUtilization },
            },
          },
        ],
      },
    },
  ];
}

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/u;
const RESERVED = /^(y|n|yes|no|true|false|on|off|null)$/iu;

/** Plain when it cannot be read as anything but that string, else double-quoted. */
function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return PLAIN.test(text) && !RESERVED.test(text) ? text : JSON.stringify(text);
}

/** Block-style YAML of plain JSON (strings double-quoted, so nothing is read as another type). */
export function toYaml(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}[]\n`;
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object') {
          const inner = toYaml(item, `${indent}  `);
          return `${indent}- ${inner.slice(indent.length + 2)}`;
        }
        return `${indent}- ${yamlScalar(item)}\n`;
      })
      .join('');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return `${indent}{}\n`;
    return entries
      .map(([k, v]) => {
        const keyText = /^[A-Za-z0-9_./-]+$/u.test(k) ? k : JSON.stringify(k);
        if (v !== null && typeof v === 'object') {
          const empty = Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
          if (empty) return `${indent}${keyText}: ${Array.isArray(v) ? '[]' : '{}'}\n`;
          return `${indent}${keyText}:\n${toYaml(v, `${indent}  `)}`;
        }
        return `${indent}${keyText}: ${yamlScalar(v)}\n`;
      })
      .join('');
  }
  return `${indent}${yamlScalar(value)}\n`;
}

export function renderManifests(
  deployment: Pick<TargetDeployment, 'name' | 'workspaceId'>,
  config: KubernetesConfig,
  trackingUri: string | null,
): string {
  return kubernetesObjects(deployment, config, trackingUri)
    .map((o) => toYaml(o))
    .join('---\n');
}

export function kubectlAvailable(): boolean {
  const r = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

function kubectl(args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new TargetError('FAILED_PRECONDITION', `kubectl ${args[0]} failed: ${stderr.trim()}`),
          ),
    );
    child.stdin.end(input);
  });
}

function endpointOf(deployment: TargetDeployment, config: KubernetesConfig): string {
  return `http://${kubernetesName(deployment.name)}.${config.namespace}.svc.cluster.local`;
}

export const kubernetesTarget: DeploymentTarget = {
  name: 'kubernetes',

  validateConfig(config) {
    const c = validateKubernetesConfig(config);
    if (c.apply && !kubectlAvailable())
      throw new TargetError(
        'FAILED_PRECONDITION',
        'config.apply is set but kubectl is not on PATH (or has no working client); render without apply, or install kubectl',
        { field: 'config.apply' },
      );
    const out: Record<string, unknown> = { ...config, image: c.image, namespace: c.namespace };
    return out;
  },

  async create(deployment, ctx) {
    const config = validateKubernetesConfig(deployment.config);
    const manifests = renderManifests(deployment, config, ctx.trackingUri);
    if (!config.apply)
      return {
        status: 'PENDING',
        endpoint: null,
        manifests,
        message: 'manifests rendered, not applied (config.apply is false)',
      };
    await kubectl(['apply', '-f', '-'], manifests);
    return {
      status: 'READY',
      endpoint: endpointOf(deployment, config),
      manifests,
      message: 'applied with kubectl',
    };
  },

  update(deployment, ctx) {
    return kubernetesTarget.create(deployment, ctx);
  },

  async delete(deployment, ctx) {
    const config = validateKubernetesConfig(deployment.config);
    if (!config.apply) return;
    await kubectl(
      ['delete', '--ignore-not-found', '-f', '-'],
      renderManifests(deployment, config, ctx.trackingUri),
    );
  },

  list(_ctx: TargetContext): Promise<TargetListing[]> {
    // The cluster is the source of truth; Cairn's own list is `deployments(target: "kubernetes")`.
    return Promise.resolve([]);
  },

  get(deployment, ctx): Promise<TargetState | null> {
    const config = validateKubernetesConfig(deployment.config);
    return Promise.resolve({
      status: config.apply ? 'READY' : 'PENDING',
      endpoint: config.apply ? endpointOf(deployment, config) : null,
      manifests: renderManifests(deployment, config, ctx.trackingUri),
      message: null,
    });
  },

  predict(deployment) {
    return Promise.reject(
      new TargetError(
        'FAILED_PRECONDITION',
        `Deployment "${deployment.name}" answers inside the cluster (its Service), not through the API`,
      ),
    );
  },

  explain(deployment) {
    return Promise.reject(
      new TargetError(
        'FAILED_PRECONDITION',
        `The kubernetes target of "${deployment.name}" does not explain predictions`,
      ),
    );
  },
};
