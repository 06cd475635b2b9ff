import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';

const handles = [
  'EvaluationRuleCreated',
  'EvaluationRuleUpdated',
  'EvaluationRuleDeleted',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<void> {
  const ws = event.workspaceId;
  const at = event.recordedAt;
  switch (event.type) {
    case 'EvaluationRuleCreated': {
      const d = event.data;
      await trx
        .insertInto('evaluation_rules')
        .values({
          workspace_id: ws,
          rule_id: d.ruleId,
          name: d.name,
          filter: d.filter,
          sampling_rate: d.samplingRate,
          scorers: JSON.stringify(d.scorers),
          active: true,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'rule_id']).doNothing())
        .execute();
      return;
    }
    case 'EvaluationRuleUpdated': {
      const d = event.data;
      await trx
        .updateTable('evaluation_rules')
        .set({
          filter: d.filter,
          sampling_rate: d.samplingRate,
          scorers: JSON.stringify(d.scorers),
          active: d.active,
          updated_at: at,
        })
        .where('workspace_id', '=', ws)
        .where('rule_id', '=', d.ruleId)
        .execute();
      return;
    }
    case 'EvaluationRuleDeleted':
      await trx
        .deleteFrom('evaluation_rules')
        .where('workspace_id', '=', ws)
        .where('rule_id', '=', event.data.ruleId)
        .execute();
      return;
    default:
      assertNever(event);
  }
}

/**
 * `evaluation-rules`: the online evaluation rules (docs/evaluation.md, "Online evaluation"), one
 * row per live rule. The online consumer in the API process reads the active ones; the
 * assessments it produces are the `evaluation` projection's.
 */
export const evaluationRulesProjection: Projection = {
  name: 'evaluation-rules',
  version: 1,
  handles,
  tables: ['evaluation_rules'],
  async apply(trx, events) {
    for (const event of events) await applyOne(trx, event as Handled);
  },
};
