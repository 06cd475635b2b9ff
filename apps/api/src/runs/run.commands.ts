import {
  experimentStreamId,
  newEntityId,
  runStreamId,
  type KeyValue,
  type RunDatasetInput,
  type RunSource,
  type RunStatus,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { experimentDecider } from '../experiments/experiment.decider.ts';
import { readStream } from '@cairn/db';
import { decodeEvent } from '@cairn/events';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { randomRunName } from './run-names.ts';
import {
  RUN_STATE_IGNORED_EVENTS,
  runDecider,
  type MetricInput,
  type RunCommand,
  type RunState,
} from './run.decider.ts';

/** The events that move a run's lifecycle stage; the newest says whether it is deleted. */
const RUN_LIFECYCLE_EVENTS = ['RunDeleted', 'RunRestored'] as const;

export interface RunWriteResult {
  runId: string;
  state: RunState;
  /** False when the read model had not caught up within the deadline (or the caller opted out). */
  visible: boolean;
  /** The events as committed. */
  events: StoredEventEnvelope[];
}

async function run(
  deps: ServiceDeps,
  caller: Caller,
  runId: string,
  command: RunCommand,
  opts: { wait?: boolean; projection?: string; idempotencyKey?: string | null } = {},
): Promise<RunWriteResult> {
  const result = await handleCommand(deps, caller, {
    idempotencyKey: opts.idempotencyKey,
    decider: runDecider,
    streamId: runStreamId(runId),
    streamType: 'run',
    command,
    ignoredEvents: RUN_STATE_IGNORED_EVENTS,
    // Metric points and artifact records obey no rule against concurrent changes: any number of
    // writers may log into one run without conflicts. Params (immutable) and the rest are checked.
    appendAnyVersion: (events) =>
      events.every((e) => e.type === 'RunMetricsLogged' || e.type === 'RunArtifactLogged'),
    // A metric-only batch needs nothing of the run's state but that it exists and is not
    // deleted: no stream read, the append checks both in its one statement.
    withoutLoad: (c) =>
      c.type === 'LogRunBatch' &&
      c.metrics.length > 0 &&
      c.params.length === 0 &&
      c.tags.length === 0
        ? {
            state: { ...runDecider.initialState(), runId },
            unlessLatest: { among: RUN_LIFECYCLE_EVENTS, refused: 'RunDeleted' },
          }
        : null,
  });
  // A replayed call (idempotency key seen before) waits for the earlier call's events.
  const position = result.events.at(-1)?.streamPosition ?? result.replayed?.position;
  let visible = true;
  if (position !== undefined && opts.wait !== false) {
    visible = await deps.changes.waitFor(
      caller.workspaceId,
      runStreamId(runId),
      position,
      [opts.projection ?? 'runs'],
      deps.readYourWritesTimeoutMs,
    );
  } else if (position !== undefined) {
    visible = false;
  }
  return { runId, state: result.state, visible, events: result.events };
}

export interface CreateRunInput {
  experimentId: string;
  name: string | null;
  startTime: number | null;
  parentRunId: string | null;
  tags: KeyValue[];
  source: RunSource;
}

export async function createRun(
  deps: ServiceDeps,
  caller: Caller,
  input: CreateRunInput,
): Promise<RunWriteResult> {
  // The experiment must exist and be active: decided on the experiment's own stream (consistent),
  // not on the read model.
  const stream = await readStream(
    deps.db,
    caller.workspaceId,
    experimentStreamId(input.experimentId),
  );
  let experiment = experimentDecider.initialState();
  for (const e of stream.events) experiment = experimentDecider.evolve(experiment, decodeEvent(e));
  if (experiment.experimentId === null)
    throw new CairnError('NOT_FOUND', `Experiment ${input.experimentId} not found`, {
      id: input.experimentId,
    });
  if (experiment.lifecycleStage !== 'active')
    throw invalidArgument(`Experiment ${input.experimentId} is deleted`);
  if (input.parentRunId !== null) {
    const parent = await readStream(deps.db, caller.workspaceId, runStreamId(input.parentRunId), {
      excludeTypes: RUN_STATE_IGNORED_EVENTS,
    });
    if (parent.version === 0)
      throw new CairnError('NOT_FOUND', `Parent run ${input.parentRunId} not found`, {
        id: input.parentRunId,
      });
  }
  const runId = newEntityId(deps.decideContext.newId);
  return run(deps, caller, runId, {
    type: 'StartRun',
    runId,
    experimentId: input.experimentId,
    name: input.name ?? randomRunName(),
    startTime: input.startTime ?? deps.decideContext.now().getTime(),
    parentRunId: input.parentRunId,
    tags: input.tags,
    source: input.source,
  });
}

export const logBatch = (
  deps: ServiceDeps,
  caller: Caller,
  runId: string,
  batch: { metrics: MetricInput[]; params: KeyValue[]; tags: KeyValue[] },
  opts: { wait?: boolean; idempotencyKey?: string | null } = {},
) => {
  deps.quotas?.charge('points', caller, batch.metrics.length);
  return run(deps, caller, runId, { type: 'LogRunBatch', ...batch }, opts);
};

export const updateRun = (
  deps: ServiceDeps,
  caller: Caller,
  runId: string,
  input: { status: RunStatus | null; endTime: number | null; name: string | null },
) => run(deps, caller, runId, { type: 'UpdateRun', ...input });
export const deleteRun = (deps: ServiceDeps, caller: Caller, runId: string) =>
  run(deps, caller, runId, { type: 'DeleteRun' });
export const restoreRun = (deps: ServiceDeps, caller: Caller, runId: string) =>
  run(deps, caller, runId, { type: 'RestoreRun' });
/** Records an artifact whose bytes are stored; waits for the `artifacts` read model. */
export async function logArtifact(
  deps: ServiceDeps,
  caller: Caller,
  runId: string,
  artifact: { path: string; size: number; sha256: string; contentType: string },
): Promise<RunWriteResult> {
  return run(
    deps,
    caller,
    runId,
    { type: 'LogRunArtifact', ...artifact },
    { projection: 'artifacts' },
  );
}

export const deleteTag = (deps: ServiceDeps, caller: Caller, runId: string, key: string) =>
  run(deps, caller, runId, { type: 'DeleteRunTag', key });

/** Records the datasets a run used (MLflow's log_inputs); waits for the `run-inputs` read model. */
export const logRunInputs = (
  deps: ServiceDeps,
  caller: Caller,
  runId: string,
  datasets: RunDatasetInput[],
) => run(deps, caller, runId, { type: 'LogRunInputs', datasets }, { projection: 'run-inputs' });
