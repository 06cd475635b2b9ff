import { MODEL_PRICES_STREAM_ID } from '@cairn/events';
import { builder } from '../graphql/builder.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { deleteModelPrice, listModelPrices, setModelPrice } from './model-price.commands.ts';

const ModelPriceRef = builder.objectType('ModelPrice', {
  fields: (t) => ({
    id: t.exposeID('id'),
    modelPattern: t.exposeString('modelPattern', {
      description: 'A regular expression matched against the whole model name.',
    }),
    provider: t.exposeString('provider', { nullable: true }),
    inputPerMillion: t.exposeFloat('inputPerMillion'),
    outputPerMillion: t.exposeFloat('outputPerMillion'),
    cachedInputPerMillion: t.exposeFloat('cachedInputPerMillion', { nullable: true }),
    effectiveFrom: t.field({ type: 'Timestamp', resolve: (p) => p.effectiveFrom }),
    builtIn: t.exposeBoolean('builtIn', {
      description: 'A shipped default (not editable; override with your own entry).',
    }),
  }),
});

const ModelPriceInputRef = builder.inputType('ModelPriceInput', {
  fields: (t) => ({
    id: t.id(),
    modelPattern: t.string({ required: true }),
    provider: t.string(),
    inputPerMillion: t.float({ required: true }),
    outputPerMillion: t.float({ required: true }),
    cachedInputPerMillion: t.float(),
    effectiveFrom: t.field({ type: 'Timestamp' }),
  }),
});

builder.queryFields((t) => ({
  modelPrices: t.field({
    type: [ModelPriceRef],
    description: "The workspace's price entries, then the shipped defaults (builtIn).",
    resolve: (_r, _a, ctx) => listModelPrices(ctx.deps, ctx.workspaceId),
  }),
}));

builder.mutationFields((t) => ({
  setModelPrice: t.field({
    type: ModelPriceRef,
    description:
      'Adds a price entry, or with `id` replaces that entry; effectiveFrom defaults to now.',
    args: { input: t.arg({ type: ModelPriceInputRef, required: true }) },
    resolve: (_r, { input }, ctx) =>
      setModelPrice(
        ctx.deps,
        ctx.caller,
        input.id === null || input.id === undefined ? null : String(input.id),
        {
          modelPattern: input.modelPattern,
          provider: input.provider ?? null,
          inputPerMillion: input.inputPerMillion,
          outputPerMillion: input.outputPerMillion,
          cachedInputPerMillion: input.cachedInputPerMillion ?? null,
          effectiveFrom:
            input.effectiveFrom === null || input.effectiveFrom === undefined
              ? null
              : new Date(input.effectiveFrom).toISOString(),
        },
      ),
  }),
  deleteModelPrice: t.boolean({
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => deleteModelPrice(ctx.deps, ctx.caller, String(id)),
  }),
}));

builder.subscriptionFields((t) => ({
  modelPricesChanged: t.field({
    type: [ModelPriceRef],
    description:
      "Pushes the workspace's price entries (as `modelPrices` lists them) each time an entry is added, edited or deleted; changes arriving while the client is busy are coalesced.",
    subscribe: (_r, _a, ctx) => {
      const changed = mapNotices<true>(ctx, (n) =>
        n.p === 'traces' && n.s.some(([stream]) => stream === MODEL_PRICES_STREAM_ID) ? true : null,
      );
      return (async function* () {
        for await (const _ of changed) yield await listModelPrices(ctx.deps, ctx.workspaceId);
      })();
    },
    resolve: (prices: Awaited<ReturnType<typeof listModelPrices>>) => prices,
  }),
}));
