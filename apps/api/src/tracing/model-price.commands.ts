import {
  DEFAULT_MODEL_PRICES,
  MODEL_PRICES_STREAM_ID,
  type DefaultModelPrice,
  type EventOf,
  decodeEvent,
} from '@cairn/events';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { modelPriceDecider, type ModelPriceInput } from './model-price.decider.ts';
import { getModelPrices, type ModelPriceView } from './traces.queries.ts';

/** The shipped defaults, listed after the workspace's own entries (`builtIn: true`). */
export const BUILT_IN_MODEL_PRICES: readonly DefaultModelPrice[] = DEFAULT_MODEL_PRICES;
const BUILT_IN_IDS: ReadonlySet<string> = new Set(BUILT_IN_MODEL_PRICES.map((p) => p.id));

/** The workspace's entries, then the shipped defaults (`builtIn`). */
export async function listModelPrices(
  deps: ServiceDeps,
  workspaceId: string,
): Promise<ModelPriceView[]> {
  const rows = await getModelPrices(deps.db, workspaceId);
  return [
    ...rows.map((r) => ({
      id: r.price_id,
      modelPattern: r.model_pattern,
      provider: r.provider,
      inputPerMillion: r.input_per_million,
      outputPerMillion: r.output_per_million,
      cachedInputPerMillion: r.cached_input_per_million,
      effectiveFrom: r.effective_from.getTime(),
      builtIn: false,
    })),
    ...BUILT_IN_MODEL_PRICES.map((p) => ({
      ...p,
      effectiveFrom: Date.parse(p.effectiveFrom),
      builtIn: true,
    })),
  ];
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  command: Parameters<typeof modelPriceDecider.decide>[0],
) {
  const result = await handleCommand(deps, caller, {
    decider: modelPriceDecider,
    streamId: MODEL_PRICES_STREAM_ID,
    streamType: 'model-prices',
    command,
  });
  const last = result.events.at(-1);
  if (last)
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      ['traces'],
      deps.readYourWritesTimeoutMs,
    );
  return result.events;
}

/** Sets (or, with an id, replaces) a price entry; answers it as committed. */
export async function setModelPrice(
  deps: ServiceDeps,
  caller: Caller,
  priceId: string | null,
  price: ModelPriceInput,
): Promise<ModelPriceView> {
  const events = await execute(deps, caller, {
    type: 'SetModelPrice',
    priceId,
    price,
    builtInIds: BUILT_IN_IDS,
  });
  const set = decodeEvent(events[0]!) as EventOf<'ModelPriceSet'>;
  const d = set.data;
  return {
    id: d.priceId,
    modelPattern: d.modelPattern,
    provider: d.provider,
    inputPerMillion: d.inputPerMillion,
    outputPerMillion: d.outputPerMillion,
    cachedInputPerMillion: d.cachedInputPerMillion,
    effectiveFrom: Date.parse(d.effectiveFrom),
    builtIn: false,
  };
}

export async function deleteModelPrice(
  deps: ServiceDeps,
  caller: Caller,
  priceId: string,
): Promise<boolean> {
  const events = await execute(deps, caller, {
    type: 'DeleteModelPrice',
    priceId,
    builtInIds: BUILT_IN_IDS,
  });
  return events.length > 0;
}
