// A third-party Cairn deployment target, as an npm package (docs/deployment.md, "Targets").
//
// Cairn loads it when CAIRN_DEPLOYMENT_TARGETS names the package (comma-separated, npm package
// names or paths): the default export (or a `target` export) is an object with `name` and the
// eight methods below. Deployments then choose it with `createDeployment(input: { target })`.
//
// This one stands in for a managed platform (SageMaker, Azure ML, Databricks Model Serving; see
// the shapes in docs/deployment.md) without needing an account: it "provisions" an endpoint by
// writing a descriptor file per deployment under the directory named by the operator in
// CAIRN_EXAMPLE_TARGET_DIR (never by a client), and serves predictions with a fixed rule
// (`config.threshold` on the first feature), the way a managed endpoint would answer.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** An error Cairn shows to the client with this code (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND). */
class TargetError extends Error {
  /**
   * @param {'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'NOT_FOUND'} code
   * @param {string} message
   * @param {Record<string, unknown>} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'TargetError';
    this.code = code;
    this.details = details;
  }
}

function root() {
  const dir = process.env.CAIRN_EXAMPLE_TARGET_DIR;
  if (!dir)
    throw new TargetError(
      'FAILED_PRECONDITION',
      'The example target needs CAIRN_EXAMPLE_TARGET_DIR (set by the operator)',
    );
  return dir;
}

/** @param {{ workspaceId: string; deploymentId: string }} d */
const fileOf = (d) => path.join(root(), `${d.workspaceId}--${d.deploymentId}.json`);

/**
 * @param {{ workspaceId: string; deploymentId: string; name: string; config: Record<string, unknown>;
 *   variants: readonly { name: string; modelUri: string; version: number; weight: number }[] }} d
 * @returns {Promise<{ status: 'READY'; endpoint: string; manifests: null; message: string }>}
 */
async function provision(d) {
  await mkdir(root(), { recursive: true });
  const descriptor = {
    name: d.name,
    instanceType: d.config.instanceType,
    threshold: d.config.threshold,
    variants: d.variants.map((v) => ({
      name: v.name,
      modelUri: v.modelUri,
      version: v.version,
      weight: v.weight,
    })),
  };
  await writeFile(fileOf(d), JSON.stringify(descriptor, null, 2));
  return {
    status: 'READY',
    endpoint: `example://${d.name}`,
    manifests: null,
    message: `provisioned on ${String(d.config.instanceType)}`,
  };
}

/** @type {import('../../apps/api/src/deployments/targets/target.ts').DeploymentTarget} */
export const target = {
  name: 'example',

  validateConfig(config) {
    const known = new Set(['instanceType', 'threshold']);
    for (const key of Object.keys(config))
      if (!known.has(key))
        throw new TargetError('INVALID_ARGUMENT', `Unknown example target option "${key}"`, {
          field: `config.${key}`,
        });
    const instanceType = config.instanceType ?? 'ml.m5.large';
    if (typeof instanceType !== 'string' || !/^ml\.[a-z0-9]+\.[a-z0-9]+$/u.test(instanceType))
      throw new TargetError('INVALID_ARGUMENT', 'config.instanceType must look like ml.m5.large', {
        field: 'config.instanceType',
      });
    const threshold = config.threshold ?? 0.5;
    if (typeof threshold !== 'number')
      throw new TargetError('INVALID_ARGUMENT', 'config.threshold must be a number', {
        field: 'config.threshold',
      });
    return { instanceType, threshold };
  },

  create: (d) => provision(d),
  update: (d) => provision(d),

  async delete(d) {
    await rm(fileOf(d), { force: true });
  },

  async list(ctx) {
    await mkdir(root(), { recursive: true });
    const files = (await readdir(root())).filter((f) => f.startsWith(`${ctx.workspaceId}--`));
    return Promise.all(
      files.map(async (f) => {
        const descriptor = /** @type {{ name: string }} */ (
          JSON.parse(await readFile(path.join(root(), f), 'utf8'))
        );
        return {
          name: descriptor.name,
          state: {
            status: /** @type {const} */ ('READY'),
            endpoint: `example://${descriptor.name}`,
            manifests: null,
            message: null,
          },
        };
      }),
    );
  },

  async get(d) {
    try {
      await readFile(fileOf(d));
    } catch {
      return null;
    }
    return { status: 'READY', endpoint: `example://${d.name}`, manifests: null, message: null };
  },

  /** MLflow's protocol: `{ inputs: [[x, ...], ...] }` → `{ predictions: [0 | 1, ...] }`. */
  async predict(d, input) {
    const descriptor = /** @type {{ threshold: number }} */ (
      JSON.parse(await readFile(fileOf(d), 'utf8'))
    );
    const rows = /** @type {{ inputs?: unknown }} */ (input).inputs;
    if (!Array.isArray(rows))
      throw new TargetError(
        'INVALID_ARGUMENT',
        'The example target takes { inputs: [[...], ...] }',
      );
    return {
      predictions: rows.map((row) =>
        Array.isArray(row) && Number(row[0]) > descriptor.threshold ? 1 : 0,
      ),
    };
  },

  explain() {
    return Promise.reject(
      new TargetError('FAILED_PRECONDITION', 'The example target does not explain predictions'),
    );
  },
};

export default target;
