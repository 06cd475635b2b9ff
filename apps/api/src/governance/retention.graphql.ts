import { builder } from '../graphql/builder.ts';
import {
  applyRetention,
  getRetentionPolicy,
  removeRetentionPolicy,
  setRetentionPolicy,
  type RetentionPolicy,
  type RetentionResult,
} from './retention.commands.ts';

const RetentionPolicyRef = builder.objectRef<RetentionPolicy>('RetentionPolicy').implement({
  description:
    'How long the workspace keeps traces and metric points in its read models (docs/governance.md, "Retention"). The event log keeps everything.',
  fields: (t) => ({
    traceDays: t.exposeInt('traceDays', {
      nullable: true,
      description: 'Traces that started more than this many days ago are purged; null: kept.',
    }),
    metricDays: t.exposeInt('metricDays', {
      nullable: true,
      description:
        'Metric points whose own timestamp is more than this many days ago are dropped from metric histories; null: kept.',
    }),
    updatedAt: t.field({ type: 'DateTime', resolve: (p) => p.updatedAt }),
    updatedBy: t.exposeString('updatedBy', { description: 'The actor who set the policy.' }),
  }),
});

const RetentionResultRef = builder.objectRef<RetentionResult>('RetentionResult').implement({
  description: 'What one retention pass removed; all zero when there was nothing old.',
  fields: (t) => ({
    tracesPurged: t.exposeInt('tracesPurged'),
    metricPointsPurged: t.exposeInt('metricPointsPurged'),
    events: t.exposeInt('events', {
      description: 'TracesPurged and MetricPointsPurged events appended.',
    }),
  }),
});

const RetentionPolicyInputRef = builder.inputType('RetentionPolicyInput', {
  fields: (t) => ({
    traceDays: t.int({ description: 'At least 1; null or absent: traces are kept.' }),
    metricDays: t.int({ description: 'At least 1; null or absent: metric points are kept.' }),
  }),
});

builder.queryFields((t) => ({
  retentionPolicy: t.field({
    type: RetentionPolicyRef,
    nullable: true,
    description: "The workspace's retention policy; null: everything is kept.",
    resolve: (_r, _a, ctx) => getRetentionPolicy(ctx.deps.db, ctx.workspaceId),
  }),
}));

builder.mutationFields((t) => ({
  setRetentionPolicy: t.field({
    type: RetentionPolicyRef,
    description:
      'Sets the retention policy (RetentionPolicySet); the retention worker applies it every CAIRN_RETENTION_INTERVAL_MS, applyRetention at once. INVALID_ARGUMENT for days below 1 or above 36500, or neither set.',
    args: { input: t.arg({ type: RetentionPolicyInputRef, required: true }) },
    resolve: (_r, { input }, ctx) =>
      setRetentionPolicy(ctx.deps, ctx.caller, {
        traceDays: input.traceDays ?? null,
        metricDays: input.metricDays ?? null,
      }),
  }),
  removeRetentionPolicy: t.boolean({
    description:
      'Removes the retention policy (RetentionPolicyRemoved): nothing more is purged; what was purged stays purged. NOT_FOUND without a policy.',
    resolve: (_r, _a, ctx) => removeRetentionPolicy(ctx.deps, ctx.caller),
  }),
  applyRetention: t.field({
    type: RetentionResultRef,
    description:
      'Runs one retention pass now: appends TracesPurged / MetricPointsPurged for the data older than the policy allows and waits until the read models dropped it. Without a policy, or with nothing old, nothing is appended.',
    resolve: (_r, _a, ctx) => applyRetention(ctx.deps, ctx.caller),
  }),
}));
