import { z } from 'zod';
import { entityId } from '../common.ts';

/**
 * Online evaluation rules (docs/evaluation.md, "Online evaluation"). One stream per rule
 * (`evaluation-rule-<ruleId>`). A rule is a trace filter (the trace search grammar), a sampling
 * rate and the scorers the online consumer runs on the traces it selects. Scorer configs are
 * validated by the API before they are stored; the events hold them with defaults filled in.
 */

export const evaluationScorerSpec = z.object({
  name: z.string().min(1),
  type: z.string().min(1),
  config: z.record(z.string(), z.json()),
});
export type EvaluationScorerSpecData = z.infer<typeof evaluationScorerSpec>;

const ruleRef = { ruleId: entityId };
const samplingRate = z.number().min(0).max(1);

export const evaluationRuleCreatedV1 = z.object({
  ...ruleRef,
  name: z.string().min(1),
  /** Trace search filter; null: every trace. */
  filter: z.string().nullable(),
  samplingRate,
  scorers: z.array(evaluationScorerSpec).min(1),
});

/** The rule's settings after the change (all of them, so that readers need no earlier event). */
export const evaluationRuleUpdatedV1 = z.object({
  ...ruleRef,
  filter: z.string().nullable(),
  samplingRate,
  scorers: z.array(evaluationScorerSpec).min(1),
  active: z.boolean(),
});

export const evaluationRuleDeletedV1 = z.object({ ...ruleRef });
