import {
  assertNever,
  metricColumns,
  type KeyValue,
  type NewEvent,
  type RunDatasetInput,
  type RunSource,
  type RunStatus,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { checkOptionalText, STRING_LIMITS } from '../input-hygiene.ts';
import { LIMITS, validateKey, validateName, validateValue } from '../limits.ts';
import { newEvent, type Decider } from '../write/decider.ts';

export interface MetricInput {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

export type RunCommand =
  | {
      type: 'StartRun';
      runId: string;
      experimentId: string;
      name: string;
      startTime: number;
      parentRunId: string | null;
      tags: KeyValue[];
      source: RunSource;
    }
  | { type: 'LogRunBatch'; metrics: MetricInput[]; params: KeyValue[]; tags: KeyValue[] }
  | { type: 'DeleteRunTag'; key: string }
  | { type: 'UpdateRun'; status: RunStatus | null; endTime: number | null; name: string | null }
  | { type: 'DeleteRun' }
  | { type: 'RestoreRun' }
  /** Records the datasets a run used (MLflow's log_inputs); see decideLogInputs. */
  | { type: 'LogRunInputs'; datasets: RunDatasetInput[] }
  | {
      /** Records a file already stored in the artifact store (bytes first, then the fact). */
      type: 'LogRunArtifact';
      path: string;
      size: number;
      sha256: string;
      contentType: string;
    };

export interface RunState {
  runId: string | null;
  name: string;
  status: RunStatus;
  endTime: number | null;
  lifecycleStage: 'active' | 'deleted';
  params: Map<string, string>;
  tagKeys: Set<string>;
  /** `datasetInputKey` of every dataset input logged so far. */
  inputKeys: Set<string>;
}

/** One dataset input per (name, digest, context): logging it again is a no-op. */
export const datasetInputKey = (d: Pick<RunDatasetInput, 'name' | 'digest' | 'context'>) =>
  JSON.stringify([d.name, d.digest, d.context]);

/** At most this many datasets in one LogRunInputs call (MLflow allows 1000 inputs per call). */
export const DATASET_INPUTS_PER_CALL = 100;

const DATASET_LIMITS = {
  name: 500,
  digest: 64,
  sourceType: 100,
  source: 65535,
  schema: 1048576,
  profile: 16384,
  context: 500,
} as const;

function checkText(what: string, value: string, max: number, required: boolean): string {
  if (typeof value !== 'string') throw invalidArgument(`${what} must be a string`);
  if (required && value.trim() === '') throw invalidArgument(`${what} must not be empty`);
  if (value.length > max)
    throw invalidArgument(`${what} is at most ${max} characters, got ${value.length}`);
  if (value.includes('\u0000')) throw invalidArgument(`${what} must not contain NUL characters`);
  return value;
}

function checkDataset(d: RunDatasetInput, i: number): RunDatasetInput {
  const at = `datasets[${i}]`;
  const optional = (name: 'schema' | 'profile' | 'context', value: string | null) =>
    value === null ? null : checkText(`${at}.${name}`, value, DATASET_LIMITS[name], false);
  if (d.tags.length > LIMITS.tagsPerBatch)
    throw invalidArgument(`${at} holds at most ${LIMITS.tagsPerBatch} tags`);
  validateTags(d.tags);
  return {
    name: checkText(`${at}.name`, d.name, DATASET_LIMITS.name, true),
    digest: checkText(`${at}.digest`, d.digest, DATASET_LIMITS.digest, true),
    sourceType: checkText(`${at}.sourceType`, d.sourceType, DATASET_LIMITS.sourceType, true),
    source: checkText(`${at}.source`, d.source, DATASET_LIMITS.source, false),
    schema: optional('schema', d.schema),
    profile: optional('profile', d.profile),
    context: optional('context', d.context),
    tags: d.tags,
  };
}

function decideLogInputs(
  command: Extract<RunCommand, { type: 'LogRunInputs' }>,
  state: RunState,
  runId: string,
  ctx: Parameters<Decider<RunCommand, RunState>['decide']>[2],
): NewEvent[] {
  if (command.datasets.length === 0) throw invalidArgument('datasets must not be empty');
  if (command.datasets.length > DATASET_INPUTS_PER_CALL)
    throw invalidArgument(
      `One call logs at most ${DATASET_INPUTS_PER_CALL} datasets, got ${command.datasets.length}`,
    );
  const seen = new Set(state.inputKeys);
  const datasets: RunDatasetInput[] = [];
  command.datasets.forEach((raw, i) => {
    const d = checkDataset(raw, i);
    const key = datasetInputKey(d);
    if (seen.has(key)) return;
    seen.add(key);
    datasets.push(d);
  });
  return datasets.length === 0 ? [] : [newEvent(ctx, 'RunInputsLogged', { runId, datasets })];
}

/**
 * Metric batches and artifact records change no decision state: loading a run skips them (see
 * run.commands.ts).
 */
export const RUN_STATE_IGNORED_EVENTS = ['RunMetricsLogged', 'RunArtifactLogged'] as const;

export const POINTS_PER_EVENT = 5000;

const TERMINAL: readonly RunStatus[] = ['FINISHED', 'FAILED', 'KILLED'];

function checkInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value))
    throw invalidArgument(`${what} must be an integer, got ${value}`);
}

/** Each source field is at most STRING_LIMITS.runSourceField characters. */
function validateSource(source: RunSource): RunSource {
  const field = (name: keyof RunSource) =>
    checkOptionalText(`source.${name}`, source[name], STRING_LIMITS.runSourceField);
  return {
    gitCommit: field('gitCommit'),
    entryPoint: field('entryPoint'),
    sourceType: field('sourceType'),
  };
}

function validateTags(tags: readonly KeyValue[]): void {
  for (const tag of tags) {
    validateKey('tag', tag.key);
    validateValue('tag', tag.key, tag.value);
  }
}

function decideLogBatch(
  command: Extract<RunCommand, { type: 'LogRunBatch' }>,
  state: RunState,
  runId: string,
  ctx: Parameters<Decider<RunCommand, RunState>['decide']>[2],
): NewEvent[] {
  const { metrics, params, tags } = command;
  if (metrics.length > LIMITS.metricsPerBatch) {
    throw invalidArgument(
      `A batch holds at most ${LIMITS.metricsPerBatch} metric points, got ${metrics.length}`,
    );
  }
  if (params.length > LIMITS.paramsPerBatch) {
    throw invalidArgument(
      `A batch holds at most ${LIMITS.paramsPerBatch} params, got ${params.length}`,
    );
  }
  if (tags.length > LIMITS.tagsPerBatch) {
    throw invalidArgument(`A batch holds at most ${LIMITS.tagsPerBatch} tags, got ${tags.length}`);
  }
  const newParams = new Map<string, string>();
  for (const param of params) {
    validateKey('param', param.key);
    validateValue('param', param.key, param.value);
    const existing = state.params.get(param.key) ?? newParams.get(param.key);
    if (existing !== undefined && existing !== param.value) {
      throw new CairnError(
        'INVALID_ARGUMENT',
        `Param "${param.key}" is already logged with value "${existing}"; params are immutable (new value "${param.value}")`,
        { key: param.key, oldValue: existing, newValue: param.value },
      );
    }
    if (existing === undefined) newParams.set(param.key, param.value);
  }
  validateTags(tags);
  const checkedKeys = new Set<string>();
  for (const m of metrics) {
    if (!checkedKeys.has(m.key)) {
      validateKey('metric', m.key);
      checkedKeys.add(m.key);
    }
    if (typeof m.value !== 'number')
      throw invalidArgument(`metric "${m.key}" value must be a number`);
    checkInteger(`metric "${m.key}" step`, m.step);
    checkInteger(`metric "${m.key}" timestamp`, m.timestamp);
  }
  const events: NewEvent[] = [];
  if (newParams.size > 0) {
    events.push(
      newEvent(ctx, 'RunParamsLogged', {
        runId,
        params: [...newParams].map(([key, value]) => ({ key, value })),
      }),
    );
  }
  if (tags.length > 0) events.push(newEvent(ctx, 'RunTagsSet', { runId, tags }));
  // Large batches become several events of at most POINTS_PER_EVENT points (about 0.5 MB of
  // JSON each), appended together: one Kafka record stays small.
  for (let i = 0; i < metrics.length; i += POINTS_PER_EVENT) {
    events.push(
      newEvent(
        ctx,
        'RunMetricsLogged',
        metricColumns(runId, metrics.slice(i, i + POINTS_PER_EVENT)),
      ),
    );
  }
  return events;
}

export const runDecider: Decider<RunCommand, RunState> = {
  initialState: () => ({
    runId: null,
    name: '',
    status: 'RUNNING',
    endTime: null,
    lifecycleStage: 'active',
    params: new Map(),
    tagKeys: new Set(),
    inputKeys: new Set(),
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'RunStarted':
        return {
          ...state,
          runId: event.data.runId,
          name: event.data.name,
          status: event.data.status,
          tagKeys: new Set(event.data.tags.map((t) => t.key)),
        };
      case 'RunParamsLogged': {
        const params = new Map(state.params);
        for (const p of event.data.params) if (!params.has(p.key)) params.set(p.key, p.value);
        return { ...state, params };
      }
      case 'RunTagsSet':
        return {
          ...state,
          tagKeys: new Set([...state.tagKeys, ...event.data.tags.map((t) => t.key)]),
        };
      case 'RunTagDeleted': {
        const tagKeys = new Set(state.tagKeys);
        tagKeys.delete(event.data.key);
        return { ...state, tagKeys };
      }
      case 'RunStatusChanged':
        return { ...state, status: event.data.status, endTime: event.data.endTime };
      case 'RunRenamed':
        return { ...state, name: event.data.name };
      case 'RunDeleted':
        return { ...state, lifecycleStage: 'deleted' };
      case 'RunRestored':
        return { ...state, lifecycleStage: 'active' };
      case 'RunInputsLogged':
        return {
          ...state,
          inputKeys: new Set([...state.inputKeys, ...event.data.datasets.map(datasetInputKey)]),
        };
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type === 'StartRun') {
      if (state.runId !== null)
        throw new CairnError('ALREADY_EXISTS', `Run ${command.runId} already exists`);
      checkInteger('startTime', command.startTime);
      validateTags(command.tags);
      return [
        newEvent(ctx, 'RunStarted', {
          runId: command.runId,
          experimentId: command.experimentId,
          name: validateName('run', command.name),
          status: 'RUNNING',
          startTime: command.startTime,
          parentRunId: command.parentRunId,
          tags: command.tags,
          source: validateSource(command.source),
        }),
      ];
    }
    if (state.runId === null) throw new CairnError('NOT_FOUND', 'Run not found');
    const runId = state.runId;
    if (state.lifecycleStage === 'deleted' && command.type !== 'RestoreRun') {
      throw invalidArgument(`Run ${runId} is deleted; restore it first`);
    }
    switch (command.type) {
      case 'LogRunBatch':
        return decideLogBatch(command, state, runId, ctx);
      case 'DeleteRunTag':
        if (!state.tagKeys.has(command.key))
          throw new CairnError('NOT_FOUND', `Run ${runId} has no tag "${command.key}"`, {
            key: command.key,
          });
        return [newEvent(ctx, 'RunTagDeleted', { runId, key: command.key })];
      case 'UpdateRun': {
        const events: NewEvent[] = [];
        if (command.name !== null) {
          const name = validateName('run', command.name);
          if (name !== state.name) events.push(newEvent(ctx, 'RunRenamed', { runId, name }));
        }
        if (command.status !== null || command.endTime !== null) {
          const status = command.status ?? state.status;
          let endTime = command.endTime ?? state.endTime;
          if (command.endTime !== null) checkInteger('endTime', command.endTime);
          if (TERMINAL.includes(status) && endTime === null) endTime = ctx.now().getTime();
          if (!TERMINAL.includes(status)) endTime = command.endTime;
          if (status !== state.status || endTime !== state.endTime) {
            events.push(newEvent(ctx, 'RunStatusChanged', { runId, status, endTime }));
          }
        }
        return events;
      }
      case 'DeleteRun':
        return [newEvent(ctx, 'RunDeleted', { runId })];
      case 'RestoreRun':
        if (state.lifecycleStage === 'active') throw invalidArgument(`Run ${runId} is not deleted`);
        return [newEvent(ctx, 'RunRestored', { runId })];
      case 'LogRunInputs':
        return decideLogInputs(command, state, runId, ctx);
      case 'LogRunArtifact':
        if (!Number.isSafeInteger(command.size) || command.size < 0)
          throw invalidArgument(`Artifact size must be a non-negative integer`);
        if (!/^[0-9a-f]{64}$/.test(command.sha256))
          throw invalidArgument(`Artifact sha256 must be 64 lower-case hex digits`);
        return [
          newEvent(ctx, 'RunArtifactLogged', {
            runId,
            path: command.path,
            size: command.size,
            sha256: command.sha256,
            contentType: command.contentType,
          }),
        ];
      default:
        return assertNever(command);
    }
  },
};
