/**
 * The kubernetes target's manifests, validated against the Kubernetes API's JSON schemas (the
 * validators kubernetes-models compiles from the upstream OpenAPI definitions of
 * apps/v1 Deployment, v1 Service and autoscaling/v2 HorizontalPodAutoscaler), parsed back from
 * the YAML the deployment exposes; and the config checks.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Service } from 'kubernetes-models/v1/Service';
import type { Deployment as DeploymentJson } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler as HpaJson } from 'kubernetes-types/autoscaling/v2.js';
import type { Service as ServiceJson } from 'kubernetes-types/core/v1.js';
import {
  kubernetesName,
  kubernetesTarget,
  renderManifests,
  validateKubernetesConfig,
} from '../../src/deployments/targets/kubernetes.target.ts';

const deployment = { name: 'Churn_Model.v2', workspaceId: 'ws-1' };

type Docs = [DeploymentJson, ServiceJson, HpaJson];

function validate(doc: { kind?: string }): void {
  switch (doc.kind) {
    case 'Deployment':
      new Deployment(doc as never).validate();
      return;
    case 'Service':
      new Service(doc as never).validate();
      return;
    case 'HorizontalPodAutoscaler':
      new HorizontalPodAutoscaler(doc as never).validate();
      return;
    default:
      throw new Error(`unexpected kind ${doc.kind}`);
  }
}

function docsOf(yamlText: string): Docs {
  const docs = parseAllDocuments(yamlText).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as unknown;
  });
  expect(docs).toHaveLength(3);
  return docs as Docs;
}

describe('kubernetes target', () => {
  it('renders a Deployment, Service and HPA that the Kubernetes schemas accept', () => {
    const config = validateKubernetesConfig({
      image: 'registry.example/churn:3',
      namespace: 'models',
      replicas: 2,
      maxReplicas: 6,
      port: 9000,
      workers: 4,
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: 2, memory: '2Gi' } },
      env: { LOG_LEVEL: 'info', ON: 'yes' },
      serviceType: 'LoadBalancer',
    });
    const yamlText = renderManifests(deployment, config, 'http://cairn.internal:4680');
    const docs = docsOf(yamlText);
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Service', 'HorizontalPodAutoscaler']);
    for (const doc of docs) validate(doc);

    const [dep, svc, hpa] = docs;
    expect(dep.metadata).toMatchObject({ name: 'churn-model-v2', namespace: 'models' });
    expect(dep.spec!.replicas).toBe(2);
    const container = dep.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe('registry.example/churn:3');
    expect(container.args).toEqual([
      'python',
      '-m',
      'cairn.models',
      'serve',
      '--deployment',
      'Churn_Model.v2',
      '--host',
      '0.0.0.0',
      '--port',
      '9000',
      '--workers',
      '4',
    ]);
    // "yes" stays a string (quoted), the deployment name and tracking URI reach the server.
    expect(container.env).toEqual([
      { name: 'CAIRN_DEPLOYMENT', value: 'Churn_Model.v2' },
      { name: 'CAIRN_WORKSPACE', value: 'ws-1' },
      { name: 'CAIRN_TRACKING_URI', value: 'http://cairn.internal:4680' },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'ON', value: 'yes' },
    ]);
    expect(container.resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '2', memory: '2Gi' },
    });
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/ping', port: 'http' });
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/ping', port: 'http' });
    expect(dep.spec!.selector.matchLabels).toEqual({ 'cairn.dev/deployment': 'churn-model-v2' });
    expect(dep.spec!.template.metadata!.labels).toMatchObject(dep.spec!.selector.matchLabels!);
    expect(svc.spec).toMatchObject({
      type: 'LoadBalancer',
      selector: dep.spec!.selector.matchLabels,
    });
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'churn-model-v2' },
      minReplicas: 2,
      maxReplicas: 6,
    });
  });

  it('the schemas refuse a broken manifest (the check can fail)', () => {
    const config = validateKubernetesConfig({ image: 'img:1' });
    const [dep, svc, hpa] = docsOf(renderManifests(deployment, config, null));
    for (const doc of [dep, svc, hpa]) validate(doc);
    (dep.spec as unknown as { replicas: string }).replicas = '2';
    expect(() => validate(dep)).toThrow(/replicas must be integer/u);
    delete (svc.spec!.ports![0] as { port?: number }).port;
    expect(() => validate(svc)).toThrow(/port/u);
    delete (hpa.spec as { maxReplicas?: number }).maxReplicas;
    expect(() => validate(hpa)).toThrow(/maxReplicas/u);
  });

  it('checks the config and names', () => {
    expect(kubernetesName('Churn_Model.v2')).toBe('churn-model-v2');
    expect(kubernetesName(`${'a'.repeat(62)}.b`)).toBe('a'.repeat(62));
    const bad: [Record<string, unknown>, string][] = [
      [{}, 'config.image'],
      [{ image: 'i', replicas: -1 }, 'config.replicas'],
      [{ image: 'i', resources: { requests: { cpu: 'lots' } } }, 'config.resources.requests'],
      [{ image: 'i', resources: { requests: { gpu: '1' } } }, 'config.resources.requests'],
      [{ image: 'i', env: { 'BAD-NAME': 'x' } }, 'config.env'],
      [{ image: 'i', namespace: 'Not_A_Label' }, 'config.namespace'],
      [{ image: 'i', minReplicas: 5, maxReplicas: 2 }, 'config.maxReplicas'],
      [{ image: 'i', replica: 2 }, 'config.replica'],
    ];
    for (const [config, field] of bad) {
      let error: unknown;
      try {
        validateKubernetesConfig(config);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(config)).toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { field },
      });
    }
  });

  it('refuses apply without kubectl with FAILED_PRECONDITION', async () => {
    const previous = process.env.PATH;
    process.env.PATH = mkdtempSync(path.join(tmpdir(), 'no-kubectl-'));
    try {
      let error: unknown;
      try {
        await kubernetesTarget.validateConfig({ image: 'i', apply: true });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'FAILED_PRECONDITION' });
      expect(String((error as Error).message)).toContain('kubectl');
    } finally {
      process.env.PATH = previous;
    }
  });
});
