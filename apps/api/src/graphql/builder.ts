import SchemaBuilder from '@pothos/core';
import type { ExperimentRow } from '../experiments/experiments.queries.ts';
import type { KV, LatestMetric, MetricPointRow, RunRow } from '../runs/runs.queries.ts';
import type {
  ModelPriceView,
  SessionRow,
  SpanRow,
  StatsRow,
  TraceRow,
} from '../tracing/traces.queries.ts';
import type { GraphQLContext } from './context.ts';

/** The builder only wires types and plugins; each domain folder adds its own fields. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  Scalars: {
    /** Unix epoch milliseconds. */
    Timestamp: { Input: number; Output: number };
    /** An integer within ±2^53 (metric steps). */
    Long: { Input: number; Output: number };
    /** A float that may also be NaN, Infinity or -Infinity (sent as those strings). */
    MetricValue: { Input: number; Output: number };
    /** Any JSON value. */
    JSON: { Input: unknown; Output: unknown };
    /** An ISO-8601 date-time with offset (deployments). */
    DateTime: { Input: string; Output: Date | string };
  };
  Objects: {
    Experiment: ExperimentRow;
    Run: RunRow;
    KeyValue: KV;
    Metric: LatestMetric;
    MetricPoint: MetricPointRow;
    Trace: TraceRow;
    Span: SpanRow;
    Session: SessionRow;
    TraceStatsBucket: StatsRow;
    ModelPrice: ModelPriceView;
  };
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });

builder.queryType({});
builder.mutationType({});
