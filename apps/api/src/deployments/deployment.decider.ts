import {
  assertNever,
  type DeploymentStatusValue,
  type DeploymentVariantData,
  type DeploymentVariantMetricsData,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

/** Deployment names end up in URLs, process names and Kubernetes object names. */
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/u;
const VARIANT_NAME = /^[a-z0-9-]{1,32}$/u;
export const LATENCY_BUCKET_COUNT = 13;
/** Longest window one metrics report may cover. */
const MAX_WINDOW_MS = 10 * 60 * 1000;

export function validateDeploymentName(raw: string, field = 'name'): string {
  const name = raw.trim();
  if (!DEPLOYMENT_NAME.test(name))
    throw invalidArgument(
      `Invalid deployment name "${name.slice(0, 80)}": 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      { field },
    );
  return name;
}

export interface VariantInput {
  name: string;
  modelUri: string;
  weight: number;
}

/** 1 or 2 variants, distinct valid names, weights 0..100 that sum to 100. */
export function validateVariantShapes(variants: readonly VariantInput[]): void {
  const field = 'variants';
  if (variants.length === 0) throw invalidArgument('A deployment needs a variant', { field });
  if (variants.length > 2)
    throw invalidArgument(`A deployment has at most 2 variants, not ${variants.length}`, {
      field,
    });
  const seen = new Set<string>();
  let sum = 0;
  for (const v of variants) {
    if (!VARIANT_NAME.test(v.name))
      throw invalidArgument(
        `Invalid variant name "${v.name.slice(0, 80)}": 1 to 32 of a-z, 0-9 and "-"`,
        { field, variant: v.name.slice(0, 80) },
      );
    if (seen.has(v.name))
      throw invalidArgument(`Variant name "${v.name}" is used twice`, { field, variant: v.name });
    seen.add(v.name);
    if (!Number.isInteger(v.weight) || v.weight < 0 || v.weight > 100)
      throw invalidArgument(`Weight of "${v.name}" must be an integer from 0 to 100`, {
        field,
        variant: v.name,
      });
    sum += v.weight;
  }
  if (sum !== 100)
    throw invalidArgument(`Variant weights must sum to 100, not ${sum}`, { field, sum });
}

export type DeploymentCommand =
  | {
      type: 'CreateDeployment';
      deploymentId: string;
      name: string;
      target: string;
      config: Record<string, unknown>;
      /** Resolved by the service (model ids, versions); the decider checks their shape. */
      variants: DeploymentVariantData[];
    }
  /** `name` in every other command is the name the caller addressed the deployment by. */
  | {
      type: 'UpdateDeployment';
      name: string;
      config: Record<string, unknown>;
      variants: DeploymentVariantData[];
    }
  | {
      type: 'RollBackDeployment';
      name: string;
      variant: string;
      fromVersion: number | null;
      toVersion: number;
      alias: string | null;
      modelUri: string;
    }
  | {
      type: 'ChangeDeploymentStatus';
      name: string;
      status: DeploymentStatusValue;
      endpoint: string | null;
      manifests: string | null;
      message: string | null;
    }
  | { type: 'DeleteDeployment'; name: string }
  | {
      type: 'RecordDeploymentMetrics';
      name: string;
      windowStart: string;
      windowEnd: string;
      variants: DeploymentVariantMetricsData[];
    };

export interface DeploymentState {
  deploymentId: string | null;
  name: string;
  target: string;
  config: Record<string, unknown>;
  variants: readonly DeploymentVariantData[];
  status: DeploymentStatusValue;
  endpoint: string | null;
  manifests: string | null;
  message: string | null;
  deleted: boolean;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function validateMetrics(
  command: Extract<DeploymentCommand, { type: 'RecordDeploymentMetrics' }>,
): void {
  const start = Date.parse(command.windowStart);
  const end = Date.parse(command.windowEnd);
  if (Number.isNaN(start) || Number.isNaN(end))
    throw invalidArgument('windowStart and windowEnd must be ISO-8601 date-times', {
      field: 'windowStart',
    });
  if (end < start || end - start > MAX_WINDOW_MS)
    throw invalidArgument('windowEnd must be after windowStart, at most 10 minutes later', {
      field: 'windowEnd',
    });
  if (command.variants.length > 8)
    throw invalidArgument('At most 8 variants per report', { field: 'variants' });
  const seen = new Set<string>();
  for (const v of command.variants) {
    if (seen.has(v.variant))
      throw invalidArgument(`Variant "${v.variant}" is reported twice`, { field: 'variants' });
    seen.add(v.variant);
    if (!Number.isInteger(v.requests) || v.requests < 0)
      throw invalidArgument('requests must be a non-negative integer', { field: 'requests' });
    if (!Number.isInteger(v.errors) || v.errors < 0 || v.errors > v.requests)
      throw invalidArgument('errors must be an integer from 0 to requests', { field: 'errors' });
    if (!Number.isFinite(v.latencyMsSum) || v.latencyMsSum < 0)
      throw invalidArgument('latencyMsSum must be a non-negative number', {
        field: 'latencyMsSum',
      });
    const buckets = v.latencyMsBuckets;
    if (buckets.length !== 0 && buckets.length !== LATENCY_BUCKET_COUNT)
      throw invalidArgument(`latencyMsBuckets must have ${LATENCY_BUCKET_COUNT} counts`, {
        field: 'latencyMsBuckets',
      });
    if (buckets.some((b) => !Number.isInteger(b) || b < 0))
      throw invalidArgument('latencyMsBuckets must be non-negative integers', {
        field: 'latencyMsBuckets',
      });
    if (buckets.length > 0 && buckets.reduce((a, b) => a + b, 0) !== v.requests)
      throw invalidArgument('latencyMsBuckets must sum to requests', {
        field: 'latencyMsBuckets',
      });
  }
}

export const deploymentDecider: Decider<DeploymentCommand, DeploymentState> = {
  initialState: () => ({
    deploymentId: null,
    name: '',
    target: '',
    config: {},
    variants: [],
    status: 'PENDING',
    endpoint: null,
    manifests: null,
    message: null,
    deleted: false,
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'DeploymentCreated':
        return {
          ...state,
          deploymentId: event.data.deploymentId,
          name: event.data.name,
          target: event.data.target,
          config: event.data.config,
          variants: event.data.variants,
        };
      case 'DeploymentUpdated':
        return { ...state, config: event.data.config, variants: event.data.variants };
      case 'DeploymentRolledBack': {
        const d = event.data;
        if (d.alias !== null) return state;
        return {
          ...state,
          variants: state.variants.map((v) =>
            v.name === d.variant ? { ...v, modelUri: d.modelUri, version: d.toVersion } : v,
          ),
        };
      }
      case 'DeploymentStatusChanged':
        return {
          ...state,
          status: event.data.status,
          endpoint: event.data.endpoint,
          manifests: event.data.manifests,
          message: event.data.message,
        };
      case 'DeploymentDeleted':
        return { ...state, deleted: true };
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type === 'CreateDeployment') {
      if (state.deploymentId !== null)
        throw new CairnError('ALREADY_EXISTS', `Deployment ${command.deploymentId} already exists`);
      validateVariantShapes(command.variants);
      const primary = command.variants[0]!;
      return [
        newEvent(ctx, 'DeploymentCreated', {
          deploymentId: command.deploymentId,
          name: validateDeploymentName(command.name),
          target: command.target,
          modelUri: primary.modelUri,
          config: command.config as never,
          variants: command.variants,
        }),
      ];
    }
    // The service found the stream by the addressed name; a concurrent delete makes that name
    // point nowhere, which is the same answer as for a name never used.
    if (state.deploymentId === null || state.deleted || state.name !== command.name.trim())
      throw new CairnError('NOT_FOUND', `Deployment "${command.name}" not found`, {
        name: command.name,
      });
    const ref = { deploymentId: state.deploymentId, name: state.name };
    switch (command.type) {
      case 'UpdateDeployment': {
        validateVariantShapes(command.variants);
        if (sameJson(command.config, state.config) && sameJson(command.variants, state.variants))
          return [];
        return [
          newEvent(ctx, 'DeploymentUpdated', {
            ...ref,
            modelUri: command.variants[0]!.modelUri,
            config: command.config as never,
            variants: command.variants,
          }),
        ];
      }
      case 'RollBackDeployment':
        if (!state.variants.some((v) => v.name === command.variant))
          throw new CairnError(
            'NOT_FOUND',
            `Deployment "${state.name}" has no variant "${command.variant}"`,
            { variant: command.variant },
          );
        return [
          newEvent(ctx, 'DeploymentRolledBack', {
            ...ref,
            variant: command.variant,
            fromVersion: command.fromVersion,
            toVersion: command.toVersion,
            alias: command.alias,
            modelUri: command.modelUri,
          }),
        ];
      case 'ChangeDeploymentStatus': {
        const message = command.message === null ? null : command.message.slice(0, 4000);
        if (
          state.status === command.status &&
          state.endpoint === command.endpoint &&
          state.manifests === command.manifests &&
          state.message === message
        )
          return [];
        return [
          newEvent(ctx, 'DeploymentStatusChanged', {
            ...ref,
            status: command.status,
            endpoint: command.endpoint,
            manifests: command.manifests,
            message,
          }),
        ];
      }
      case 'DeleteDeployment':
        return [newEvent(ctx, 'DeploymentDeleted', ref)];
      case 'RecordDeploymentMetrics':
        validateMetrics(command);
        return [
          newEvent(ctx, 'DeploymentMetricsRecorded', {
            ...ref,
            windowStart: new Date(command.windowStart).toISOString(),
            windowEnd: new Date(command.windowEnd).toISOString(),
            variants: command.variants,
          }),
        ];
      default:
        return assertNever(command);
    }
  },
};
