import { assertNever, newEntityId, type NewEvent } from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

export const MODEL_PRICE_LIMITS = {
  pattern: 500,
  provider: 100,
  /** USD per million tokens: a bound against typos (1e6 = a dollar per token). */
  price: 1_000_000,
} as const;

export interface ModelPriceInput {
  modelPattern: string;
  provider: string | null;
  inputPerMillion: number;
  outputPerMillion: number;
  cachedInputPerMillion: number | null;
  /** ISO; null = now. */
  effectiveFrom: string | null;
}

/** The workspace's price table, one stream `model-prices`. Shipped defaults are not in it. */
export type ModelPriceCommand =
  | {
      type: 'SetModelPrice';
      /** null: a new entry (id from the context); else the entry it replaces. */
      priceId: string | null;
      price: ModelPriceInput;
      /** Ids of the shipped defaults (refused). */
      builtInIds: ReadonlySet<string>;
    }
  | { type: 'DeleteModelPrice'; priceId: string; builtInIds: ReadonlySet<string> };

export interface ModelPriceState {
  ids: Set<string>;
}

function refuseBuiltIn(priceId: string, builtInIds: ReadonlySet<string>): void {
  if (builtInIds.has(priceId))
    throw invalidArgument(
      `Model price ${priceId} is a built-in default and cannot be changed; add your own entry with the same pattern to override it`,
      { id: priceId, builtIn: true },
    );
}

function checkPrice(field: string, value: number | null, nullable: boolean): void {
  if (value === null) {
    if (!nullable) throw invalidArgument(`${field} is required`, { field });
    return;
  }
  if (!Number.isFinite(value) || value < 0 || value > MODEL_PRICE_LIMITS.price)
    throw invalidArgument(
      `${field} must be a finite number between 0 and ${MODEL_PRICE_LIMITS.price} (USD per million tokens)`,
      { field },
    );
}

/** The pattern must compile as the reader uses it: anchored to the whole model name. */
export function validateModelPattern(pattern: string): void {
  if (pattern.length === 0)
    throw invalidArgument('modelPattern must not be empty', { field: 'modelPattern' });
  if (pattern.length > MODEL_PRICE_LIMITS.pattern)
    throw invalidArgument(`modelPattern is longer than ${MODEL_PRICE_LIMITS.pattern} characters`, {
      field: 'modelPattern',
    });
  try {
    new RegExp(`^(?:${pattern})$`, 'u');
  } catch (error) {
    throw invalidArgument(
      `modelPattern is not a valid regular expression: ${(error as Error).message}`,
      { field: 'modelPattern' },
    );
  }
}

export const modelPriceDecider: Decider<ModelPriceCommand, ModelPriceState> = {
  initialState: () => ({ ids: new Set() }),

  evolve(state, event) {
    switch (event.type) {
      case 'ModelPriceSet':
        return { ids: new Set(state.ids).add(event.data.priceId) };
      case 'ModelPriceDeleted': {
        const ids = new Set(state.ids);
        ids.delete(event.data.priceId);
        return { ids };
      }
      default:
        return state;
    }
  },

  decide(command, state, ctx): NewEvent[] {
    switch (command.type) {
      case 'SetModelPrice': {
        if (command.priceId !== null) {
          refuseBuiltIn(command.priceId, command.builtInIds);
          if (!state.ids.has(command.priceId))
            throw new CairnError('NOT_FOUND', `Model price ${command.priceId} not found`, {
              id: command.priceId,
            });
        }
        const p = command.price;
        validateModelPattern(p.modelPattern);
        if (
          p.provider !== null &&
          (p.provider.length === 0 || p.provider.length > MODEL_PRICE_LIMITS.provider)
        )
          throw invalidArgument(`provider must be 1–${MODEL_PRICE_LIMITS.provider} characters`, {
            field: 'provider',
          });
        checkPrice('inputPerMillion', p.inputPerMillion, false);
        checkPrice('outputPerMillion', p.outputPerMillion, false);
        checkPrice('cachedInputPerMillion', p.cachedInputPerMillion, true);
        const effectiveFrom = p.effectiveFrom ?? ctx.now().toISOString();
        return [
          newEvent(ctx, 'ModelPriceSet', {
            priceId: command.priceId ?? newEntityId(ctx.newId),
            modelPattern: p.modelPattern,
            provider: p.provider,
            inputPerMillion: p.inputPerMillion,
            outputPerMillion: p.outputPerMillion,
            cachedInputPerMillion: p.cachedInputPerMillion,
            effectiveFrom,
          }),
        ];
      }
      case 'DeleteModelPrice':
        refuseBuiltIn(command.priceId, command.builtInIds);
        if (!state.ids.has(command.priceId))
          throw new CairnError('NOT_FOUND', `Model price ${command.priceId} not found`, {
            id: command.priceId,
          });
        return [newEvent(ctx, 'ModelPriceDeleted', { priceId: command.priceId })];
      default:
        return assertNever(command);
    }
  },
};
