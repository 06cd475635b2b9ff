import { invalidArgument } from '../errors.ts';
import { builder } from '../graphql/builder.ts';
import { MAX_HISTORY_POINTS } from './run.graphql.ts';
import { getMetricHistory, type MetricPointRow } from './runs.queries.ts';

const MAX_SERIES = 400;

const MetricSeriesRef = builder
  .objectRef<{ runId: string; key: string; points: MetricPointRow[] }>('MetricSeries')
  .implement({
    fields: (t) => ({
      runId: t.exposeString('runId'),
      key: t.exposeString('key'),
      points: t.field({ type: ['MetricPoint'], resolve: (s) => s.points }),
    }),
  });

builder.queryFields((t) => ({
  metricHistories: t.field({
    type: [MetricSeriesRef],
    description:
      'Downsampled histories of several runs and keys in one call (charts of many runs): one series per run × key that has points, each at most maxPoints long, keeping extremes and the last point.',
    args: {
      runIds: t.arg.stringList({ required: true }),
      keys: t.arg.stringList({ required: true }),
      maxPoints: t.arg.int({ defaultValue: 1000 }),
    },
    resolve: async (_r, args, ctx) => {
      const maxPoints = args.maxPoints ?? 1000;
      if (maxPoints < 3 || maxPoints > MAX_HISTORY_POINTS)
        throw invalidArgument(`maxPoints must be between 3 and ${MAX_HISTORY_POINTS}`);
      const runIds = [...new Set(args.runIds)];
      const keys = [...new Set(args.keys)];
      if (runIds.length * keys.length > MAX_SERIES) {
        throw invalidArgument(
          `At most ${MAX_SERIES} series (runs × keys) per call, asked for ${runIds.length * keys.length}`,
        );
      }
      const series = await Promise.all(
        runIds.flatMap((runId) =>
          keys.map(async (key) => ({
            runId,
            key,
            points: await getMetricHistory(ctx.deps.db, ctx.workspaceId, {
              runId,
              key,
              maxPoints,
              startStep: null,
              endStep: null,
            }),
          })),
        ),
      );
      return series.filter((s) => s.points.length > 0);
    },
  }),
}));
