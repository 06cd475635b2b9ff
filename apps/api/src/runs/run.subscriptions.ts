import { runStreamId } from '@cairn/events';
import type { ChangeNotice } from '@cairn/projector';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { RunRef } from './run.graphql.ts';

/**
 * Turns change notices into an async iterator of "something changed" ticks. Notices carry ids
 * and positions only; every push re-reads committed state through fresh loaders.
 */
export function noticeStream(ctx: GraphQLContext, matches: (notice: ChangeNotice) => boolean): AsyncIterable<true> {
  return {
    [Symbol.asyncIterator]() {
      let pending = 0;
      let wake: (() => void) | null = null;
      let done = false;
      const unsubscribe = ctx.deps.changes.onChange((notice) => {
        if (notice.w !== ctx.workspaceId || !matches(notice)) return;
        pending += 1;
        wake?.();
      });
      return {
        async next() {
          while (!done && pending === 0) await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          if (done) return { done: true, value: undefined };
          pending = 0;
          return { done: false, value: true as const };
        },
        async return() {
          done = true;
          unsubscribe();
          wake?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

builder.subscriptionType({});

builder.subscriptionFields((t) => ({
  runChanged: t.field({
    type: RunRef,
    nullable: true,
    description: 'Pushes the run (re-read from the read model) each time a change to it is projected.',
    args: { runId: t.arg.string({ required: true }) },
    subscribe: (_r, { runId }, ctx) => {
      const stream = runStreamId(runId);
      return noticeStream(ctx, (n) => n.p === 'runs' && n.s.some(([s]) => s === stream));
    },
    resolve: (_tick, { runId }, ctx) => {
      for (const loader of [ctx.loaders.run, ctx.loaders.params, ctx.loaders.tags, ctx.loaders.latestMetrics]) loader.clear(runId);
      return ctx.loaders.run.load(runId);
    },
  }),
}));
