import type { DeploymentStatusValue } from '@cairn/events';

/**
 * The deployment target interface (docs/deployment.md, "Targets"). A target turns a deployment
 * (its name, variants and validated config) into something that answers requests: `local` runs
 * the scoring server as a child process, `kubernetes` renders (and optionally applies)
 * manifests; a third-party target is an npm package whose default export (or `target` export)
 * is an object of this shape, loaded by name from CAIRN_DEPLOYMENT_TARGETS.
 */
export interface DeploymentTarget {
  /** The name deployments choose it by (`createDeployment(input: { target })`). */
  readonly name: string;
  /**
   * Checks and normalises the config (defaults filled in). Throws a CairnError-like error
   * (`{ code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION', message }`) to refuse it; nothing is
   * recorded then.
   */
  validateConfig(
    config: Record<string, unknown>,
  ): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Brings the deployment up; the answer is recorded as a DeploymentStatusChanged event. */
  create(deployment: TargetDeployment, ctx: TargetContext): Promise<TargetState>;
  /** Applies a changed config or variants (the serving process follows weights by itself). */
  update(deployment: TargetDeployment, ctx: TargetContext): Promise<TargetState>;
  /** Tears it down; must succeed when nothing is running any more. */
  delete(deployment: TargetDeployment, ctx: TargetContext): Promise<void>;
  /** What the target runs now (names and states), for this workspace. */
  list(ctx: TargetContext): Promise<TargetListing[]>;
  /** The state of one deployment on the target, null when it runs nothing for it. */
  get(deployment: TargetDeployment, ctx: TargetContext): Promise<TargetState | null>;
  /** Scores `input` (an MLflow scoring-protocol JSON body) on the deployment. */
  predict(deployment: TargetDeployment, input: unknown, ctx: TargetContext): Promise<unknown>;
  /** Explains predictions, where the target can (others throw FAILED_PRECONDITION). */
  explain(deployment: TargetDeployment, input: unknown, ctx: TargetContext): Promise<unknown>;
}

export interface TargetVariant {
  name: string;
  modelUri: string;
  modelName: string;
  alias: string | null;
  version: number;
  weight: number;
}

export interface TargetDeployment {
  workspaceId: string;
  deploymentId: string;
  name: string;
  config: Record<string, unknown>;
  variants: readonly TargetVariant[];
  /** The last state recorded (endpoint of a running local server, rendered manifests). */
  endpoint: string | null;
}

export interface TargetState {
  status: DeploymentStatusValue;
  endpoint: string | null;
  manifests: string | null;
  message: string | null;
}

export interface TargetListing {
  name: string;
  state: TargetState;
}

export interface TargetContext {
  /** Where the serving process reaches this server (CAIRN_TRACKING_URI), null when unknown. */
  trackingUri: string | null;
  workspaceId: string;
  /** Records a later state change (a server that became ready or exited). */
  reportStatus(deployment: TargetDeployment, state: TargetState): Promise<void>;
  log(message: string, error?: unknown): void;
}

/** An error a target throws for the client: the code travels as the GraphQL error code. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'NOT_FOUND' | 'UNAVAILABLE',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** True when `value` has every member of the interface (a plugin's export is checked with it). */
export function isDeploymentTarget(value: unknown): value is DeploymentTarget {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Record<string, unknown>;
  return (
    typeof t.name === 'string' &&
    ['validateConfig', 'create', 'update', 'delete', 'list', 'get', 'predict', 'explain'].every(
      (m) => typeof t[m] === 'function',
    )
  );
}
