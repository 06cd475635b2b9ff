import { z } from 'zod';
import { entityId } from '../common.ts';

/**
 * Annotation queues for human review (docs/evaluation.md, "Annotation queues"). One stream per
 * queue (`annotation-queue-<queueId>`): its settings and label schema, and every item's status.
 * Assigning the next item is decided against that stream (optimistic concurrency), so two
 * reviewers never get the same item. The labels themselves are ordinary assessments (HUMAN
 * feedback named after the label), not part of these events.
 */

const traceRef = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');

export const ANNOTATION_LABEL_KINDS = ['BOOL', 'SCORE', 'CATEGORICAL', 'TEXT'] as const;
export const annotationLabelKind = z.enum(ANNOTATION_LABEL_KINDS);
export type AnnotationLabelKind = z.infer<typeof annotationLabelKind>;

export const ANNOTATION_ITEM_STATUSES = ['PENDING', 'ASSIGNED', 'COMPLETED', 'SKIPPED'] as const;
export type AnnotationItemStatus = (typeof ANNOTATION_ITEM_STATUSES)[number];

/** One label of a queue's schema: reviewers answer it with a FEEDBACK assessment of that name. */
export const annotationLabelSpec = z.object({
  name: z.string().min(1),
  kind: annotationLabelKind,
  /** SCORE only (null otherwise): the inclusive bounds of the value. */
  min: z.number().nullable(),
  max: z.number().nullable(),
  /** CATEGORICAL only (empty otherwise): the allowed values. */
  options: z.array(z.string()),
  required: z.boolean(),
  instructions: z.string().nullable(),
});
export type AnnotationLabelSpecData = z.infer<typeof annotationLabelSpec>;

const queueRef = { queueId: entityId };

export const annotationQueueCreatedV1 = z.object({
  ...queueRef,
  name: z.string().min(1),
  description: z.string().nullable(),
  labelSchema: z.array(annotationLabelSpec).min(1),
});

/** The queue's settings after the change (all of them, so that readers need no earlier event). */
export const annotationQueueUpdatedV1 = z.object({
  ...queueRef,
  name: z.string().min(1),
  description: z.string().nullable(),
  labelSchema: z.array(annotationLabelSpec).min(1),
});

/** Traces added to the queue, in this order (only ones it did not hold yet; at most 1000). */
export const annotationQueueItemsAddedV1 = z.object({
  ...queueRef,
  items: z.array(traceRef).min(1).max(1000),
});

export const annotationQueueItemAssignedV1 = z.object({
  ...queueRef,
  traceId: traceRef,
  assignee: z.string().min(1),
});

export const annotationQueueItemCompletedV1 = z.object({
  ...queueRef,
  traceId: traceRef,
  by: z.string().min(1),
});

export const annotationQueueItemSkippedV1 = z.object({
  ...queueRef,
  traceId: traceRef,
  by: z.string().min(1),
});

export const annotationQueueDeletedV1 = z.object({ ...queueRef });
