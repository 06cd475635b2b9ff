import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './scalars.ts';
import '../experiments/experiment.graphql.ts';
import '../experiments/experiment.subscriptions.ts';
import '../runs/run.graphql.ts';
import '../runs/run.subscriptions.ts';
import '../runs/metric-history.graphql.ts';
import '../registry/registry.graphql.ts';
import '../registry/registry.subscriptions.ts';
import '../artifacts/artifact.graphql.ts';
import '../artifacts/artifact.subscriptions.ts';
import '../webhooks/webhook.graphql.ts';
import '../tracing/trace.graphql.ts';
import '../tracing/session.graphql.ts';
import '../tracing/model-price.graphql.ts';
import '../tracing/trace.subscriptions.ts';
import '../prompts/prompt.graphql.ts';
import '../deployments/deployment.graphql.ts';
import '../evaluation/evaluation.graphql.ts';
import '../evaluation/rule.graphql.ts';
import '../auth/auth.graphql.ts';
import '../evaluation/annotation-queue.graphql.ts';
import '../governance/audit.graphql.ts';
import '../governance/audit.subscriptions.ts';
import '../governance/erasure.graphql.ts';
import '../governance/retention.graphql.ts';
import '../auth/members.graphql.ts';
import '../auth/access.graphql.ts';
import '../auth/service-accounts.graphql.ts';
import '../lineage/lineage.graphql.ts';

let schema: GraphQLSchema | null = null;

export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema();
  return schema;
}

export function printCairnSchema(): string {
  return printSchema(lexicographicSortSchema(getSchema()));
}
