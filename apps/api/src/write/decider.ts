import {
  currentSchemas,
  type CairnEvent,
  type EventData,
  type EventType,
  type NewEvent,
} from '@cairn/events';

/** Injected so that deciders stay pure and tests deterministic. */
export interface DecideContext {
  now: () => Date;
  newId: () => string;
}

/**
 * One pure decider per aggregate (emmett style): `decide(command, state)` returns the new
 * events or throws a CairnError; `evolve(state, event)` folds one stored event into the state.
 */
export interface Decider<Command, State> {
  initialState: () => State;
  evolve: (state: State, event: CairnEvent) => State;
  decide: (command: Command, state: State, ctx: DecideContext) => NewEvent[];
}

/** A new event of the current schema version, validated against its schema. */
export function newEvent<T extends EventType>(
  ctx: DecideContext,
  type: T,
  data: EventData<T>,
): NewEvent<T, EventData<T>> {
  return {
    id: ctx.newId(),
    type,
    schemaVersion: currentSchemas[type].version,
    occurredAt: ctx.now().toISOString(),
    data: currentSchemas[type].schema.parse(data) as EventData<T>,
  };
}
