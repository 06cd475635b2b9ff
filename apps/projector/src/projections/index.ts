import type { Projection } from '../projection.ts';
import { annotationQueuesProjection } from './annotation-queues.projection.ts';
import { deploymentsProjection } from './deployments.projection.ts';
import { artifactsProjection } from './artifacts.projection.ts';
import { evaluationProjection } from './evaluation.projection.ts';
import { evaluationRulesProjection } from './evaluation-rules.projection.ts';
import { experimentsProjection } from './experiments.projection.ts';
import { promptsProjection } from './prompts.projection.ts';
import { registryProjection } from './registry.projection.ts';
import { runsProjection } from './runs.projection.ts';
import { runInputsProjection } from './run-inputs.projection.ts';
import { tracesProjection } from './traces.projection.ts';
import { usersProjection } from './users.projection.ts';
import { authProjection } from './auth.projection.ts';
import { webhooksProjection } from './webhooks.projection.ts';
import { retentionProjection } from './retention.projection.ts';

export const allProjections: readonly Projection[] = [
  experimentsProjection,
  runsProjection,
  registryProjection,
  artifactsProjection,
  webhooksProjection,
  tracesProjection,
  promptsProjection,
  evaluationProjection,
  evaluationRulesProjection,
  annotationQueuesProjection,
  usersProjection,
  authProjection,
  deploymentsProjection,
  runInputsProjection,
  retentionProjection,
];

export function findProjection(name: string): Projection | undefined {
  return allProjections.find((p) => p.name === name);
}
