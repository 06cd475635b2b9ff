import { evaluationRuleStreamId, newEntityId, type StoredEventEnvelope } from '@cairn/events';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  evaluationRuleDecider,
  type EvaluationRuleCommand,
  type ScorerSpecInput,
} from './rule.decider.ts';

/** The projection rule mutations wait for (read-your-writes). */
export const EVALUATION_RULES_PROJECTION = 'evaluation-rules';

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  ruleId: string,
  command: EvaluationRuleCommand,
): Promise<StoredEventEnvelope[]> {
  const result = await handleCommand(deps, caller, {
    decider: evaluationRuleDecider,
    streamId: evaluationRuleStreamId(ruleId),
    streamType: 'evaluation-rule',
    command,
  });
  const last = result.events.at(-1);
  if (last) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      [EVALUATION_RULES_PROJECTION],
      deps.readYourWritesTimeoutMs,
    );
  }
  return result.events;
}

export async function createEvaluationRule(
  deps: ServiceDeps,
  caller: Caller,
  input: {
    name: string;
    filter: string | null;
    samplingRate: number;
    scorers: readonly ScorerSpecInput[];
  },
): Promise<{ ruleId: string; events: StoredEventEnvelope[] }> {
  const ruleId = newEntityId(deps.decideContext.newId);
  const events = await execute(deps, caller, ruleId, {
    type: 'CreateEvaluationRule',
    ruleId,
    ...input,
  });
  return { ruleId, events };
}

export async function updateEvaluationRule(
  deps: ServiceDeps,
  caller: Caller,
  ruleId: string,
  input: {
    filter: string | null | undefined;
    samplingRate: number | undefined;
    scorers: readonly ScorerSpecInput[] | undefined;
    active: boolean | undefined;
  },
): Promise<void> {
  await execute(deps, caller, ruleId, { type: 'UpdateEvaluationRule', ...input });
}

export async function deleteEvaluationRule(
  deps: ServiceDeps,
  caller: Caller,
  ruleId: string,
): Promise<void> {
  await execute(deps, caller, ruleId, { type: 'DeleteEvaluationRule' });
}
