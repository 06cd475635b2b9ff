import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CairnError } from '../../errors.ts';
import { kubernetesTarget } from './kubernetes.target.ts';
import { LocalTarget } from './local.target.ts';
import { isDeploymentTarget, type DeploymentTarget } from './target.ts';

/**
 * The targets one API process offers: the built-in `local` and `kubernetes`, and the plugins
 * named in CAIRN_DEPLOYMENT_TARGETS (comma-separated npm package names, or paths), loaded once.
 */
export class DeploymentTargets {
  trackingUri: string | null = null;
  private readonly byName = new Map<string, DeploymentTarget>();

  constructor(
    readonly local: LocalTarget,
    others: readonly DeploymentTarget[],
  ) {
    for (const t of [local, kubernetesTarget, ...others]) {
      if (this.byName.has(t.name)) throw new Error(`Two deployment targets are named "${t.name}"`);
      this.byName.set(t.name, t);
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  require(name: string): DeploymentTarget {
    const target = this.byName.get(name);
    if (!target)
      throw new CairnError(
        'INVALID_ARGUMENT',
        `Unknown deployment target "${name.slice(0, 80)}"; known: ${this.names().join(', ')}`,
        { field: 'target' },
      );
    return target;
  }

  /** Stops what the targets run in this process (local scoring servers). */
  async stop(): Promise<void> {
    await this.local.stopAll();
  }
}

/** Loads one plugin: its default export, or its `target` export, must be a DeploymentTarget. */
export async function loadTargetPlugin(
  spec: string,
  cwd = process.cwd(),
): Promise<DeploymentTarget> {
  const specifier =
    spec.startsWith('.') || path.isAbsolute(spec)
      ? pathToFileURL(path.resolve(cwd, spec)).href
      : spec;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(
      `CAIRN_DEPLOYMENT_TARGETS: cannot load "${spec}": ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const candidate = mod.target ?? mod.default;
  if (!isDeploymentTarget(candidate))
    throw new Error(
      `CAIRN_DEPLOYMENT_TARGETS: "${spec}" exports no deployment target (a default or "target" export with name, validateConfig, create, update, delete, list, get, predict, explain)`,
    );
  return candidate;
}

export async function loadTargetPlugins(list: string | undefined): Promise<DeploymentTarget[]> {
  const specs = (list ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const out: DeploymentTarget[] = [];
  for (const spec of specs) out.push(await loadTargetPlugin(spec));
  return out;
}

// One registry per app (keyed by its ServiceDeps object): no module-level singleton state.
const registries = new WeakMap<object, Promise<DeploymentTargets>>();

export function deploymentTargetsOf(deps: object): Promise<DeploymentTargets> {
  let registry = registries.get(deps);
  if (!registry) {
    registry = loadTargetPlugins(process.env.CAIRN_DEPLOYMENT_TARGETS).then(
      (plugins) => new DeploymentTargets(new LocalTarget(), plugins),
    );
    registries.set(deps, registry);
  }
  return registry;
}

/** Where spawned serving processes reach this server; called by startCairnApp once it listens. */
export async function configureDeploymentTargets(
  deps: object,
  opts: { trackingUri: string },
): Promise<void> {
  (await deploymentTargetsOf(deps)).trackingUri = opts.trackingUri;
}

/** Kills the local scoring servers this app started (startCairnApp's stop). */
export async function stopDeploymentTargets(deps: object): Promise<void> {
  const registry = registries.get(deps);
  if (registry) await (await registry).stop();
}
