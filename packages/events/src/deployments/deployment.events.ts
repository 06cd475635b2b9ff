import { z } from 'zod';
import { entityId, isoTimestamp } from '../common.ts';

/**
 * Deployment events (docs/deployment.md, "Deployments"). One stream per deployment
 * (`deployment-<deploymentId>`). Every event carries `deploymentId` and `name` so that consumers
 * need no lookup. A variant names the model by URI and also by the registered model's id (a
 * rename does not lose the alias it follows) and records the version the URI resolved to when
 * the command was decided; later alias moves are the registry's own `ModelAliasSet` events.
 */

const deploymentRef = { deploymentId: entityId, name: z.string() };
const versionNumber = z.number().int().positive();

/** A target's configuration: a JSON object, validated by the target. */
export const deploymentConfig = z.record(z.string(), z.json());

export const deploymentVariant = z.object({
  name: z.string(),
  modelUri: z.string(),
  modelId: entityId,
  modelName: z.string(),
  /** Set when the URI follows an alias. */
  alias: z.string().nullable(),
  /** The version the URI resolved to when the event was decided. */
  version: versionNumber,
  weight: z.number().int().min(0).max(100),
});
export type DeploymentVariantData = z.infer<typeof deploymentVariant>;

export const deploymentStatus = z.enum(['PENDING', 'READY', 'FAILED']);
export type DeploymentStatusValue = z.infer<typeof deploymentStatus>;

export const deploymentCreatedV1 = z.object({
  ...deploymentRef,
  target: z.string(),
  /** The primary variant's URI. */
  modelUri: z.string(),
  config: deploymentConfig,
  variants: z.array(deploymentVariant).min(1).max(2),
});

/** The whole new shape (URI, config, variants); the projection diffs it against the old one. */
export const deploymentUpdatedV1 = z.object({
  ...deploymentRef,
  modelUri: z.string(),
  config: deploymentConfig,
  variants: z.array(deploymentVariant).min(1).max(2),
});

/**
 * A rollback of one variant. For a variant that follows an alias the alias move itself is the
 * registry's `ModelAliasSet` (appended first); for a fixed-version variant `modelUri` is the
 * variant's new URI (`models:/<name>/<toVersion>`).
 */
export const deploymentRolledBackV1 = z.object({
  ...deploymentRef,
  variant: z.string(),
  fromVersion: versionNumber.nullable(),
  toVersion: versionNumber,
  alias: z.string().nullable(),
  modelUri: z.string(),
});

export const deploymentStatusChangedV1 = z.object({
  ...deploymentRef,
  status: deploymentStatus,
  endpoint: z.string().nullable(),
  /** Rendered manifests (kubernetes target), null for others. */
  manifests: z.string().nullable(),
  message: z.string().nullable(),
});

/** Everything of the deployment leaves the read models; its name becomes free. */
export const deploymentDeletedV1 = z.object({ ...deploymentRef });

/** Fixed latency bucket upper bounds in ms; the 13th count is everything above 5000 ms. */
export const DEPLOYMENT_LATENCY_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

export const deploymentVariantMetrics = z.object({
  variant: z.string(),
  version: z.string().nullable(),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  latencyMsSum: z.number().nonnegative(),
  /** 13 counts (DEPLOYMENT_LATENCY_BUCKETS_MS and +inf), or empty when not reported. */
  latencyMsBuckets: z.array(z.number().int().nonnegative()),
});
export type DeploymentVariantMetricsData = z.infer<typeof deploymentVariantMetrics>;

/** One report of a serving process: every variant's counts for one window (batched facts). */
export const deploymentMetricsRecordedV1 = z.object({
  ...deploymentRef,
  windowStart: isoTimestamp,
  windowEnd: isoTimestamp,
  variants: z.array(deploymentVariantMetrics).max(8),
});
