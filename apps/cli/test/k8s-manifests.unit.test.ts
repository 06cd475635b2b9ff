import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// infra/k8s: the manifests pass the Kubernetes schemas (kubernetes-validate, offline: the
// schemas ship in its PyPI wheel; infra/k8s/validate.sh), a broken copy fails them, and the
// probes point at what the CLI really serves (the API's port, CAIRN_HEALTH_PORT).
const run = promisify(execFile);
const k8sDir = fileURLToPath(new URL('../../../infra/k8s/', import.meta.url));
const validate = join(k8sDir, 'validate.sh');

interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
}
interface Resource {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: { replicas?: number; template?: { spec: { containers: Container[] } } };
}

let files: string[] = [];
const resources: Resource[] = [];
let scratch = '';

beforeAll(async () => {
  files = (await readdir(k8sDir)).filter((f) => f.endsWith('.yaml')).map((f) => join(k8sDir, f));
  for (const file of files)
    for (const doc of parseAllDocuments(await readFile(file, 'utf8')))
      resources.push(doc.toJS() as Resource);
  scratch = await mkdtemp(join(tmpdir(), 'cairn-k8s-'));
  // Creates the validator's venv when missing (npm test's set-up step has made it already).
  await run('bash', [validate, '--deps-only'], { timeout: 280_000 });
}, 300_000);
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function validates(paths: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('bash', [validate, ...paths], { timeout: 60_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('infra/k8s manifests', () => {
  it('pass the Kubernetes schemas (strict: unknown fields fail)', async () => {
    const result = await validates(files);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 60_000);

  it('a broken copy fails: a mistyped field and a wrong type', async () => {
    const api = await readFile(join(k8sDir, '30-api.yaml'), 'utf8');
    const unknownField = join(scratch, 'unknown-field.yaml');
    await writeFile(unknownField, api.replace('readinessProbe:', 'readinesProbe:'));
    const wrongType = join(scratch, 'wrong-type.yaml');
    await writeFile(wrongType, api.replace('replicas: 2', 'replicas: two'));
    const cases: [string, RegExp][] = [
      [unknownField, /did not validate.*'readinesProbe' was unexpected/],
      [wrongType, /did not validate.*spec\.replicas: 'two' is not of type 'integer'/],
    ];
    for (const [broken, why] of cases) {
      const result = await validates([broken]);
      expect(result.ok).toBe(false);
      expect(result.output).toMatch(why);
    }
  }, 60_000);

  it('run api ×2, projector ×2, relay ×1 with probes on the ports the CLI serves', () => {
    const config = resources.find(
      (r) => r.kind === 'ConfigMap' && r.metadata.name === 'cairn-config',
    );
    const secret = resources.find(
      (r) => r.kind === 'Secret' && r.metadata.name === 'cairn-secrets',
    );
    expect(secret?.stringData).toHaveProperty('CAIRN_DATABASE_URL');
    expect(config?.data).toMatchObject({ CAIRN_AUTH: 'required', CAIRN_HOST: '0.0.0.0' });
    const apiPort = Number(config!.data!.CAIRN_PORT);
    const healthPort = Number(config!.data!.CAIRN_HEALTH_PORT);
    const deployments = new Map(
      resources.filter((r) => r.kind === 'Deployment').map((r) => [r.metadata.name, r]),
    );
    const expected = {
      'cairn-api': { replicas: 2, role: 'api', port: apiPort },
      'cairn-projector': { replicas: 2, role: 'projector', port: healthPort },
      'cairn-relay': { replicas: 1, role: 'relay', port: healthPort },
    };
    expect([...deployments.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      const deployment = deployments.get(name)!;
      expect(deployment.spec?.replicas).toBe(want.replicas);
      const [container] = deployment.spec!.template!.spec.containers;
      expect(container!.args).toEqual([want.role]);
      expect(container!.envFrom.map((e) => e.configMapRef?.name ?? e.secretRef?.name)).toEqual([
        'cairn-config',
        'cairn-secrets',
      ]);
      const portName = container!.readinessProbe.httpGet.port;
      expect(container!.ports.find((p) => p.name === portName)?.containerPort).toBe(want.port);
      expect(container!.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container!.livenessProbe.httpGet.path).toBe('/healthz');
    }
    const service = resources.find((r) => r.kind === 'Service' && r.metadata.name === 'cairn-api');
    expect(service).toBeDefined();
  });
});
