import type { Kysely } from 'kysely';
import { readStream, type DB } from '@cairn/db';
import {
  decodeEvent,
  deploymentStreamId,
  newEntityId,
  registeredModelStreamId,
  uuidv7,
  type DeploymentStatusValue,
  type DeploymentVariantData,
  type DeploymentVariantMetricsData,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { parseModelUri } from '../registry/model-uri.ts';
import {
  registeredModelDecider,
  type RegisteredModelState,
} from '../registry/registered-model.decider.ts';
import { findModelIdByName, setModelAlias } from '../registry/registry.commands.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  deploymentDecider,
  validateDeploymentName,
  validateVariantShapes,
  type DeploymentCommand,
  type DeploymentState,
  type VariantInput,
} from './deployment.decider.ts';
import { deploymentTargetsOf, type DeploymentTargets } from './targets/registry.ts';
import {
  TargetError,
  type DeploymentTarget,
  type TargetContext,
  type TargetDeployment,
  type TargetState,
} from './targets/target.ts';

/** Unique-key scope of deployment names (per workspace) in the event store. */
export const DEPLOYMENT_NAME_SCOPE = 'deployment-name';
const STREAM_PREFIX = 'deployment-';
/** The projection a deployment mutation waits for (read-your-writes). */
export const DEPLOYMENTS_PROJECTION = 'deployments';
/** High-volume facts that do not change the decision state: not loaded for decisions. */
const IGNORED = ['DeploymentMetricsRecorded'] as const;

function nameKeys(state: DeploymentState, events: NewEvent[]) {
  for (const event of events) {
    const data = event.data as { name?: string };
    if (event.type === 'DeploymentCreated' && data.name)
      return { claim: [{ scope: DEPLOYMENT_NAME_SCOPE, key: data.name }] };
    if (event.type === 'DeploymentDeleted')
      return { release: [{ scope: DEPLOYMENT_NAME_SCOPE, key: state.name }] };
  }
  return {};
}

/** The deployment id a name belongs to, from the event store's unique keys. */
export async function findDeploymentIdByName(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('unique_keys')
    .select('stream_id')
    .where('workspace_id', '=', workspaceId)
    .where('scope', '=', DEPLOYMENT_NAME_SCOPE)
    .where('key', '=', name.trim())
    .executeTakeFirst();
  return row ? row.stream_id.slice(STREAM_PREFIX.length) : null;
}

export interface DeploymentWriteResult {
  deploymentId: string;
  state: DeploymentState;
  events: StoredEventEnvelope[];
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  deploymentId: string,
  command: DeploymentCommand,
  opts: { wait?: boolean } = {},
): Promise<DeploymentWriteResult> {
  const result = await handleCommand(deps, caller, {
    decider: deploymentDecider,
    streamId: deploymentStreamId(deploymentId),
    streamType: 'deployment',
    command,
    ignoredEvents: IGNORED,
    uniqueKeys: nameKeys,
    appendAnyVersion: (events) => events.every((e) => e.type === 'DeploymentMetricsRecorded'),
  });
  const last = result.events.at(-1);
  if (last && opts.wait !== false) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      [DEPLOYMENTS_PROJECTION],
      deps.readYourWritesTimeoutMs,
    );
  }
  return { deploymentId, state: result.state, events: result.events };
}

async function requireDeploymentId(
  deps: ServiceDeps,
  caller: Caller,
  name: string,
): Promise<string> {
  const id = await findDeploymentIdByName(deps.db, caller.workspaceId, name);
  if (id === null) throw new CairnError('NOT_FOUND', `Deployment "${name}" not found`, { name });
  return id;
}

/** The deployment's decision state (consistent with the log, unlike the read model). */
async function loadDeployment(
  deps: ServiceDeps,
  workspaceId: string,
  deploymentId: string,
): Promise<DeploymentState> {
  const stream = await readStream(deps.db, workspaceId, deploymentStreamId(deploymentId), {
    excludeTypes: IGNORED,
  });
  let state = deploymentDecider.initialState();
  for (const raw of stream.events) state = deploymentDecider.evolve(state, decodeEvent(raw));
  return state;
}

async function requireDeployment(
  deps: ServiceDeps,
  caller: Caller,
  name: string,
): Promise<DeploymentState & { deploymentId: string }> {
  const id = await requireDeploymentId(deps, caller, name);
  const state = await loadDeployment(deps, caller.workspaceId, id);
  if (state.deploymentId === null || state.deleted)
    throw new CairnError('NOT_FOUND', `Deployment "${name}" not found`, { name });
  return { ...state, deploymentId: state.deploymentId };
}

async function loadModel(
  deps: ServiceDeps,
  workspaceId: string,
  modelId: string,
): Promise<RegisteredModelState> {
  const stream = await readStream(deps.db, workspaceId, registeredModelStreamId(modelId));
  let state = registeredModelDecider.initialState();
  for (const raw of stream.events) state = registeredModelDecider.evolve(state, decodeEvent(raw));
  return state;
}

/** A variant's URI resolved against the registry's consistent state (model id, version). */
async function resolveVariant(
  deps: ServiceDeps,
  workspaceId: string,
  input: VariantInput,
): Promise<DeploymentVariantData> {
  let parsed;
  try {
    parsed = parseModelUri(input.modelUri);
  } catch (error) {
    if (error instanceof CairnError)
      throw invalidArgument(error.message, { field: 'modelUri', variant: input.name });
    throw error;
  }
  if (parsed.kind !== 'alias' && parsed.kind !== 'version')
    throw invalidArgument(
      `A deployment serves models:/<name>@<alias> or models:/<name>/<version>, not "${input.modelUri.slice(0, 200)}"`,
      { field: 'modelUri', variant: input.name },
    );
  const modelId = await findModelIdByName(deps.db, workspaceId, parsed.name);
  if (modelId === null)
    throw new CairnError('NOT_FOUND', `Registered model "${parsed.name}" not found`, {
      field: 'modelUri',
      name: parsed.name,
    });
  const model = await loadModel(deps, workspaceId, modelId);
  if (model.deleted || model.modelId === null)
    throw new CairnError('NOT_FOUND', `Registered model "${parsed.name}" not found`, {
      field: 'modelUri',
      name: parsed.name,
    });
  let version: number;
  if (parsed.kind === 'alias') {
    const v = model.aliases.get(parsed.alias);
    if (v === undefined)
      throw new CairnError('NOT_FOUND', `Model "${model.name}" has no alias "${parsed.alias}"`, {
        field: 'modelUri',
        alias: parsed.alias,
      });
    version = v;
  } else {
    if (!model.versions.has(parsed.version))
      throw new CairnError('NOT_FOUND', `Model "${model.name}" has no version ${parsed.version}`, {
        field: 'modelUri',
        version: parsed.version,
      });
    version = parsed.version;
  }
  return {
    name: input.name,
    modelUri: input.modelUri,
    modelId,
    modelName: model.name,
    alias: parsed.kind === 'alias' ? parsed.alias : null,
    version,
    weight: input.weight,
  };
}

async function resolveVariants(
  deps: ServiceDeps,
  workspaceId: string,
  modelUri: string | null,
  variants: readonly VariantInput[] | null,
): Promise<DeploymentVariantData[]> {
  const inputs: VariantInput[] =
    variants && variants.length > 0
      ? [...variants]
      : modelUri !== null
        ? [{ name: 'primary', modelUri, weight: 100 }]
        : [];
  validateVariantShapes(inputs);
  if (modelUri !== null && variants && variants.length > 0 && inputs[0]!.modelUri !== modelUri)
    throw invalidArgument(
      'modelUri must be the URI of the first (primary) variant when variants are given',
      { field: 'modelUri' },
    );
  const out: DeploymentVariantData[] = [];
  for (const v of inputs) out.push(await resolveVariant(deps, workspaceId, v));
  return out;
}

const TARGET_CODES = new Set([
  'INVALID_ARGUMENT',
  'FAILED_PRECONDITION',
  'NOT_FOUND',
  'UNAVAILABLE',
]);

/**
 * A target's typed error (ours, or a plugin's own class with the same `code` / `details`
 * shape) becomes a CairnError; anything else stays an internal error (masked, logged).
 */
function toCairn(error: unknown): unknown {
  if (error instanceof CairnError) return error;
  if (error instanceof TargetError) return new CairnError(error.code, error.message, error.details);
  const e = error as { code?: unknown; message?: unknown; details?: unknown } | null;
  if (error instanceof Error && typeof e?.code === 'string' && TARGET_CODES.has(e.code)) {
    const details =
      typeof e.details === 'object' && e.details !== null
        ? (e.details as Record<string, unknown>)
        : {};
    return new CairnError(e.code as 'INVALID_ARGUMENT', error.message, details);
  }
  return error;
}

async function targets(deps: ServiceDeps): Promise<DeploymentTargets> {
  try {
    return await deploymentTargetsOf(deps);
  } catch (error) {
    throw new CairnError(
      'FAILED_PRECONDITION',
      error instanceof Error ? error.message : 'The deployment targets could not be loaded',
    );
  }
}

function asConfig(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidArgument('config must be a JSON object', { field: 'config' });
  return value as Record<string, unknown>;
}

async function validateConfig(
  target: DeploymentTarget,
  config: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  try {
    return await target.validateConfig(config);
  } catch (error) {
    throw toCairn(error);
  }
}

function targetDeployment(
  workspaceId: string,
  state: DeploymentState & { deploymentId: string },
): TargetDeployment {
  return {
    workspaceId,
    deploymentId: state.deploymentId,
    name: state.name,
    config: state.config,
    variants: state.variants.map((v) => ({
      name: v.name,
      modelUri: v.modelUri,
      modelName: v.modelName,
      alias: v.alias,
      version: v.version,
      weight: v.weight,
    })),
    endpoint: state.endpoint,
  };
}

const systemCaller = (workspaceId: string): Caller => ({
  workspaceId,
  metadata: { actor: 'system:deployments', correlationId: uuidv7(), causationId: null },
});

/**
 * What a target sees of the API. `after`: later reports (a server that became ready or exited)
 * wait until the operation's own answer is recorded, so they are never overwritten by it.
 */
function targetContext(
  deps: ServiceDeps,
  registry: DeploymentTargets,
  workspaceId: string,
  after: Promise<unknown> = Promise.resolve(),
): TargetContext {
  return {
    trackingUri: registry.trackingUri,
    workspaceId,
    reportStatus: async (deployment, state) => {
      await after.catch(() => undefined);
      await recordStatus(deps, systemCaller(workspaceId), deployment.deploymentId, state).catch(
        (error: unknown) => {
          // A deployment deleted meanwhile has nothing to record.
          if (error instanceof CairnError && error.code === 'NOT_FOUND') return;
          throw error;
        },
      );
    },
    log: () => undefined,
  };
}

async function recordStatus(
  deps: ServiceDeps,
  caller: Caller,
  deploymentId: string,
  state: TargetState,
): Promise<DeploymentWriteResult> {
  const current = await loadDeployment(deps, caller.workspaceId, deploymentId);
  return execute(deps, caller, deploymentId, {
    type: 'ChangeDeploymentStatus',
    name: current.name,
    status: state.status,
    endpoint: state.endpoint,
    manifests: state.manifests,
    message: state.message,
  });
}

/** Runs the target operation and records its answer (a thrown error: FAILED with its message). */
async function runTarget(
  deps: ServiceDeps,
  caller: Caller,
  registry: DeploymentTargets,
  state: DeploymentState & { deploymentId: string },
  op: 'create' | 'update',
): Promise<void> {
  const target = registry.require(state.target);
  let recorded!: () => void;
  const gate = new Promise<void>((resolve) => (recorded = resolve));
  const ctx = targetContext(deps, registry, caller.workspaceId, gate);
  let answer: TargetState;
  try {
    answer = await target[op](targetDeployment(caller.workspaceId, state), ctx);
  } catch (error) {
    answer = {
      status: 'FAILED',
      endpoint: null,
      manifests: state.manifests,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  try {
    await recordStatus(deps, caller, state.deploymentId, answer);
  } finally {
    recorded();
  }
}

export interface CreateDeploymentInput {
  name: string;
  target: string;
  modelUri: string;
  config: unknown;
  variants: VariantInput[] | null;
}

export async function createDeployment(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateDeploymentInput,
): Promise<DeploymentWriteResult> {
  const name = validateDeploymentName(input.name);
  const registry = await targets(deps);
  const target = registry.require(input.target);
  const config = await validateConfig(target, asConfig(input.config));
  const variants = await resolveVariants(deps, caller.workspaceId, input.modelUri, input.variants);
  const deploymentId = newEntityId(deps.decideContext.newId);
  const created = await execute(deps, caller, deploymentId, {
    type: 'CreateDeployment',
    deploymentId,
    name,
    target: target.name,
    config,
    variants,
  });
  await runTarget(deps, caller, registry, { ...created.state, deploymentId }, 'create');
  return created;
}

export interface UpdateDeploymentInput {
  name: string;
  modelUri: string | null;
  config: unknown;
  variants: VariantInput[] | null;
}

export async function updateDeployment(
  deps: ServiceDeps,
  caller: Caller,
  input: UpdateDeploymentInput,
): Promise<DeploymentWriteResult> {
  const current = await requireDeployment(deps, caller, input.name);
  const registry = await targets(deps);
  const target = registry.require(current.target);
  const config =
    input.config === null || input.config === undefined
      ? current.config
      : await validateConfig(target, asConfig(input.config));
  let variants: DeploymentVariantData[];
  if (input.variants && input.variants.length > 0) {
    variants = await resolveVariants(deps, caller.workspaceId, input.modelUri, input.variants);
  } else if (input.modelUri !== null) {
    // A new primary URI keeps the other variant and the weights.
    const inputs = current.variants.map((v, i) => ({
      name: v.name,
      modelUri: i === 0 ? input.modelUri! : v.modelUri,
      weight: v.weight,
    }));
    variants = await resolveVariants(deps, caller.workspaceId, null, inputs);
  } else {
    // The same URIs, re-resolved: an update never rewinds a version an alias moved to since.
    variants = await resolveVariants(deps, caller.workspaceId, null, current.variants);
  }
  const result = await execute(deps, caller, current.deploymentId, {
    type: 'UpdateDeployment',
    name: current.name,
    config,
    variants,
  });
  await runTarget(
    deps,
    caller,
    registry,
    { ...result.state, deploymentId: current.deploymentId },
    'update',
  );
  return result;
}

export async function deleteDeployment(
  deps: ServiceDeps,
  caller: Caller,
  name: string,
): Promise<DeploymentWriteResult> {
  const current = await requireDeployment(deps, caller, name);
  const registry = await targets(deps);
  const target = registry.require(current.target);
  try {
    await target.delete(
      targetDeployment(caller.workspaceId, current),
      targetContext(deps, registry, caller.workspaceId),
    );
  } catch (error) {
    throw toCairn(error);
  }
  return execute(deps, caller, current.deploymentId, { type: 'DeleteDeployment', name });
}

function parseVersion(raw: string, field: string): number {
  if (!/^\d+$/u.test(raw.trim()) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw)))
    throw invalidArgument(`${field} must be a version number`, { field });
  return Number(raw);
}

/**
 * Rolls one variant back: an alias variant moves its alias (the registry's own command, so it
 * is a registry event too and every process following the alias switches), a fixed-version
 * variant gets `models:/<name>/<toVersion>`. Default target: the version served before the
 * variant's last VERSION_CHANGED.
 */
export async function rollbackDeployment(
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; variant: string | null; toVersion: string | null },
  /** Called before the alias moves (the resolver checks registry:write there). */
  beforeAliasMove: () => void = () => undefined,
): Promise<DeploymentWriteResult> {
  const current = await requireDeployment(deps, caller, input.name);
  const variant =
    input.variant === null
      ? current.variants[0]!
      : current.variants.find((v) => v.name === input.variant);
  if (!variant)
    throw new CairnError(
      'NOT_FOUND',
      `Deployment "${current.name}" has no variant "${input.variant}"`,
      {
        variant: input.variant,
      },
    );
  const model = await loadModel(deps, caller.workspaceId, variant.modelId);
  if (model.deleted || model.modelId === null)
    throw new CairnError('NOT_FOUND', `Registered model "${variant.modelName}" not found`, {
      name: variant.modelName,
    });
  const fromVersion =
    variant.alias !== null ? (model.aliases.get(variant.alias) ?? null) : variant.version;
  let toVersion: number;
  if (input.toVersion !== null) {
    toVersion = parseVersion(input.toVersion, 'toVersion');
  } else {
    const last = await deps.db
      .selectFrom('deployment_history')
      .select(['from_version'])
      .where('workspace_id', '=', caller.workspaceId)
      .where('deployment_id', '=', current.deploymentId)
      .where('kind', '=', 'VERSION_CHANGED')
      .where('variant', '=', variant.name)
      .where('to_version', '=', fromVersion)
      .orderBy('global_position', 'desc')
      .orderBy('ordinal', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!last?.from_version)
      throw new CairnError(
        'FAILED_PRECONDITION',
        `Variant "${variant.name}" of "${current.name}" has no earlier version to roll back to; pass toVersion`,
        { variant: variant.name },
      );
    toVersion = last.from_version;
  }
  if (!model.versions.has(toVersion))
    throw new CairnError('NOT_FOUND', `Model "${model.name}" has no version ${toVersion}`, {
      field: 'toVersion',
      version: toVersion,
    });
  if (toVersion === fromVersion)
    throw new CairnError(
      'FAILED_PRECONDITION',
      `Variant "${variant.name}" of "${current.name}" already serves version ${toVersion}`,
      { variant: variant.name },
    );
  const waits: Promise<boolean>[] = [];
  if (variant.alias !== null) {
    beforeAliasMove();
    const moved = await setModelAlias(deps, caller, model.name, variant.alias, toVersion);
    const last = moved.events.at(-1);
    if (last)
      waits.push(
        deps.changes.waitFor(
          caller.workspaceId,
          last.streamId,
          last.streamPosition,
          [DEPLOYMENTS_PROJECTION],
          deps.readYourWritesTimeoutMs,
        ),
      );
  }
  const result = await execute(deps, caller, current.deploymentId, {
    type: 'RollBackDeployment',
    name: current.name,
    variant: variant.name,
    fromVersion,
    toVersion,
    alias: variant.alias,
    modelUri: variant.alias !== null ? variant.modelUri : `models:/${model.name}/${toVersion}`,
  });
  await Promise.all(waits);
  return result;
}

export interface MetricsInput {
  name: string;
  windowStart: string;
  windowEnd: string;
  variants: DeploymentVariantMetricsData[];
}

export async function recordDeploymentMetrics(
  deps: ServiceDeps,
  caller: Caller,
  input: MetricsInput,
): Promise<DeploymentWriteResult> {
  const id = await requireDeploymentId(deps, caller, input.name);
  return execute(deps, caller, id, { type: 'RecordDeploymentMetrics', ...input });
}

/** Scores `input` on the deployment through its target (`predict`) or explains it (`explain`). */
export async function callDeployment(
  deps: ServiceDeps,
  caller: Caller,
  name: string,
  op: 'predict' | 'explain',
  input: unknown,
): Promise<unknown> {
  const current = await requireDeployment(deps, caller, name);
  const registry = await targets(deps);
  const target = registry.require(current.target);
  try {
    return await target[op](
      targetDeployment(caller.workspaceId, current),
      input,
      targetContext(deps, registry, caller.workspaceId),
    );
  } catch (error) {
    throw toCairn(error);
  }
}

export type { DeploymentStatusValue };
