import { z } from 'zod';
import { entityId, keyValue } from '../common.ts';

export const experimentCreatedV2 = z.object({
  experimentId: entityId,
  name: z.string(),
  artifactLocation: z.string().nullable(),
  tags: z.array(keyValue),
});

/**
 * v1 had no tags (tags were only ever set afterwards with ExperimentTagSet). Kept for decoding
 * stored events; see experiment.upcasters.ts.
 */
export const experimentCreatedV1 = z.object({
  experimentId: entityId,
  name: z.string(),
  artifactLocation: z.string().nullable().optional(),
});

export const experimentRenamedV1 = z.object({ experimentId: entityId, name: z.string() });
export const experimentDeletedV1 = z.object({ experimentId: entityId });
export const experimentRestoredV1 = z.object({ experimentId: entityId });
export const experimentTagSetV1 = z.object({
  experimentId: entityId,
  key: z.string(),
  value: z.string(),
});
/** A tag removed from an experiment (MLflow's delete-experiment-tag); the key was present. */
export const experimentTagDeletedV1 = z.object({ experimentId: entityId, key: z.string() });
