import DataLoader from 'dataloader';
import { ENTITY_ID_PATTERN } from '@cairn/events';
import { CairnError, notFound } from '../errors.ts';
import { builder } from '../graphql/builder.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { decodeCursor, encodeCursor, pageSize } from '../graphql/scalars.ts';
import {
  createEvaluationRule,
  deleteEvaluationRule,
  updateEvaluationRule,
} from './rule.commands.ts';
import {
  countRules,
  getRulesByIds,
  getScoreBuckets,
  getScoredTraceCounts,
  listRules,
  parseBucket,
  type EvaluationRuleRow,
  type ScoreBucketRow,
  type ScoreBucketSize,
} from './rules.queries.ts';

/** Per-request loaders of online evaluation rules (one batch query per edge). */
function createRuleLoaders(ctx: GraphQLContext) {
  const { db } = ctx.deps;
  const ws = ctx.workspaceId;
  return {
    rule: new DataLoader<string, EvaluationRuleRow | null>(async (ids) => {
      const rows = await getRulesByIds(db, ws, ids);
      const byId = new Map(rows.map((r) => [r.rule_id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    scoredTraces: new DataLoader<string, number>(async (ids) => {
      const counts = await getScoredTraceCounts(db, ws, ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),
    /** Keyed by the JSON of [scorer, bucket, from, to, ruleId]: one query per distinct arguments. */
    scores: new DataLoader<string, ScoreBucketRow[]>(async (keys) => {
      const groups = new Map<string, string[]>();
      for (const key of keys) {
        const parsed = JSON.parse(key) as [
          string,
          ScoreBucketSize,
          number | null,
          number | null,
          string,
        ];
        const args = JSON.stringify(parsed.slice(0, 4));
        groups.set(args, [...(groups.get(args) ?? []), parsed[4]]);
      }
      const found = new Map<string, ScoreBucketRow[]>();
      for (const [args, ruleIds] of groups) {
        const [scorer, bucket, from, to] = JSON.parse(args) as [
          string,
          ScoreBucketSize,
          number | null,
          number | null,
        ];
        const byRule = await getScoreBuckets(db, ws, ruleIds, scorer, bucket, from, to);
        for (const id of ruleIds)
          found.set(JSON.stringify([scorer, bucket, from, to, id]), byRule.get(id) ?? []);
      }
      return keys.map((k) => found.get(k) ?? []);
    }),
  };
}

const loaderCache = new WeakMap<GraphQLContext, ReturnType<typeof createRuleLoaders>>();
function loaders(ctx: GraphQLContext) {
  let found = loaderCache.get(ctx);
  if (!found) loaderCache.set(ctx, (found = createRuleLoaders(ctx)));
  return found;
}

interface ScorerSpecShape {
  name: string;
  type: string;
  config: Record<string, unknown>;
}

const ScorerSpecRef = builder.objectRef<ScorerSpecShape>('ScorerSpec').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.exposeString('type'),
    config: t.field({ type: 'JSON', resolve: (s) => s.config }),
  }),
});

const ScoreBucketRef = builder.objectRef<ScoreBucketRow>('ScoreBucket').implement({
  fields: (t) => ({
    start: t.field({ type: 'Timestamp', resolve: (b) => b.start.getTime() }),
    count: t.exposeInt('count'),
    mean: t.exposeFloat('mean', { nullable: true }),
    errorCount: t.exposeInt('error_count'),
  }),
});

export const EvaluationRuleRef = builder.objectRef<EvaluationRuleRow>('EvaluationRule').implement({
  description:
    'An online evaluation rule: the traces matching `filter`, sampled at `samplingRate`, are scored by `scorers` as they arrive.',
  fields: (t) => ({
    id: t.exposeID('rule_id'),
    name: t.exposeString('name'),
    filter: t.exposeString('filter', { nullable: true }),
    samplingRate: t.exposeFloat('sampling_rate'),
    scorers: t.field({ type: [ScorerSpecRef], resolve: (r) => r.scorers }),
    active: t.exposeBoolean('active'),
    createdAt: t.field({ type: 'Timestamp', resolve: (r) => r.created_at.getTime() }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (r) => r.updated_at.getTime() }),
    scoredTraces: t.int({
      description: 'Traces this rule has scored.',
      resolve: (r, _a, ctx) => loaders(ctx).scoredTraces.load(r.rule_id),
    }),
    scores: t.field({
      type: [ScoreBucketRef],
      description:
        'One scorer of the rule over time, oldest bucket first: per bucket (minute, hour, day or week; default hour) the assessments, their mean (true/"yes" = 1, false/"no" = 0, numbers as they are) and the errors.',
      args: {
        scorer: t.arg.string({ required: true }),
        bucket: t.arg.string(),
        from: t.arg({ type: 'Timestamp' }),
        to: t.arg({ type: 'Timestamp' }),
      },
      resolve: (r, args, ctx) =>
        loaders(ctx).scores.load(
          JSON.stringify([
            args.scorer,
            parseBucket(args.bucket),
            args.from ?? null,
            args.to ?? null,
            r.rule_id,
          ]),
        ),
    }),
  }),
});

const EvaluationRuleConnection = connectionType('EvaluationRule', EvaluationRuleRef);

const ScorerSpecInput = builder.inputType('ScorerSpecInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    type: t.string({ required: true }),
    config: t.field({ type: 'JSON' }),
  }),
});

const CreateEvaluationRuleInput = builder.inputType('CreateEvaluationRuleInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    filter: t.string(),
    samplingRate: t.float({ required: true }),
    scorers: t.field({ type: [ScorerSpecInput], required: true }),
  }),
});

const UpdateEvaluationRuleInput = builder.inputType('UpdateEvaluationRuleInput', {
  fields: (t) => ({
    ruleId: t.id({ required: true }),
    filter: t.string(),
    samplingRate: t.float(),
    scorers: t.field({ type: [ScorerSpecInput] }),
    active: t.boolean(),
  }),
});

const specs = (list: readonly { name: string; type: string; config?: unknown }[]) =>
  list.map((s) => ({ name: s.name, type: s.type, config: s.config ?? undefined }));

function checkRuleId(id: string): string {
  if (!ENTITY_ID_PATTERN.test(id)) throw notFound('Evaluation rule', id);
  return id;
}

async function loadRule(ctx: GraphQLContext, id: string): Promise<EvaluationRuleRow> {
  const l = loaders(ctx);
  l.rule.clear(id);
  l.scoredTraces.clear(id);
  const row = await l.rule.load(id);
  if (row) return row;
  throw new CairnError('UNAVAILABLE', `Evaluation rule ${id} is saved but not readable yet`);
}

const isCursor = (v: unknown): v is { id: string } =>
  typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string';

builder.queryFields((t) => ({
  evaluationRules: t.field({
    type: EvaluationRuleConnection,
    description: 'Online evaluation rules, newest first.',
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<EvaluationRuleRow>> => {
      const first = pageSize(args.first ?? 50, 200);
      const after = decodeCursor(args.after, isCursor)?.id ?? null;
      const { rows, hasNextPage } = await listRules(ctx.deps.db, ctx.workspaceId, first, after);
      const edges = rows.map((node) => ({ node, cursor: encodeCursor({ id: node.rule_id }) }));
      return {
        edges,
        pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: () => countRules(ctx.deps.db, ctx.workspaceId),
      };
    },
  }),
  evaluationRule: t.field({
    type: EvaluationRuleRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) =>
      ENTITY_ID_PATTERN.test(String(id)) ? loaders(ctx).rule.load(String(id)) : null,
  }),
}));

builder.mutationFields((t) => ({
  createEvaluationRule: t.field({
    type: EvaluationRuleRef,
    args: { input: t.arg({ type: CreateEvaluationRuleInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { ruleId } = await createEvaluationRule(ctx.deps, ctx.caller, {
        name: input.name,
        filter: input.filter ?? null,
        samplingRate: input.samplingRate,
        scorers: specs(input.scorers),
      });
      return loadRule(ctx, ruleId);
    },
  }),
  updateEvaluationRule: t.field({
    type: EvaluationRuleRef,
    args: { input: t.arg({ type: UpdateEvaluationRuleInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const ruleId = checkRuleId(String(input.ruleId));
      await updateEvaluationRule(ctx.deps, ctx.caller, ruleId, {
        // Absent: unchanged; an explicit null (or blank) removes the filter.
        filter: input.filter === undefined ? undefined : input.filter,
        samplingRate: input.samplingRate ?? undefined,
        scorers: input.scorers ? specs(input.scorers) : undefined,
        active: input.active ?? undefined,
      });
      return loadRule(ctx, ruleId);
    },
  }),
  deleteEvaluationRule: t.field({
    type: 'ID',
    args: { ruleId: t.arg.id({ required: true }) },
    resolve: async (_r, { ruleId }, ctx) => {
      const id = checkRuleId(String(ruleId));
      await deleteEvaluationRule(ctx.deps, ctx.caller, id);
      return id;
    },
  }),
}));
