import {
  ANNOTATION_LABEL_KINDS,
  assertNever,
  type AnnotationItemStatus,
  type AnnotationLabelSpecData,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { checkOptionalText } from '../input-hygiene.ts';
import { newEvent, type Decider } from '../write/decider.ts';
import { checkName, EVALUATION_LIMITS, numericValue } from './evaluation-limits.ts';

/** Annotation queues for human review (docs/evaluation.md, "Annotation queues", "Limits"). */
export const ANNOTATION_LIMITS = {
  queueName: 200,
  description: 4000,
  labels: 50,
  instructions: 4000,
  options: 100,
  option: 256,
  tracesPerAdd: 1000,
  itemsPerQueue: 10_000,
  assignee: 256,
} as const;

export interface LabelSpecInput {
  name: string;
  kind: string;
  min?: number | null;
  max?: number | null;
  options?: readonly string[] | null;
  required?: boolean | null;
  instructions?: string | null;
}

export type AnnotationQueueCommand =
  | {
      type: 'CreateAnnotationQueue';
      queueId: string;
      name: string;
      description: string | null;
      labelSchema: readonly LabelSpecInput[];
    }
  | {
      type: 'UpdateAnnotationQueue';
      /** undefined: unchanged. */
      name: string | undefined;
      /** undefined: unchanged; null or blank: none. */
      description: string | null | undefined;
      labelSchema: readonly LabelSpecInput[] | undefined;
    }
  | { type: 'AddAnnotationQueueItems'; traceIds: readonly string[] }
  | { type: 'AssignAnnotationQueueItem'; traceId: string; assignee: string }
  /** Assigns the oldest pending item to `assignee`; no event when none is pending. */
  | { type: 'AssignNextAnnotationQueueItem'; assignee: string }
  | { type: 'CompleteAnnotationQueueItem'; traceId: string; by: string }
  | { type: 'SkipAnnotationQueueItem'; traceId: string; by: string }
  | { type: 'DeleteAnnotationQueue' };

export interface AnnotationItemState {
  status: AnnotationItemStatus;
  assignee: string | null;
  by: string | null;
}

export interface AnnotationQueueState {
  queueId: string | null;
  name: string;
  description: string | null;
  labelSchema: AnnotationLabelSpecData[];
  deleted: boolean;
  /** In the order they were added (Map keeps insertion order). */
  items: Map<string, AnnotationItemState>;
}

function validQueueName(name: string): string {
  return checkName('name', name, ANNOTATION_LIMITS.queueName);
}

function validDescription(description: string | null): string | null {
  const text = checkOptionalText('description', description, ANNOTATION_LIMITS.description);
  return text === null || text.trim() === '' ? null : text;
}

function finite(field: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isFinite(value)) throw invalidArgument(`${field} must be a finite number`, { field });
  return value;
}

/** A label schema: 1..50 labels with distinct names, each consistent with its kind. */
export function validLabelSchema(input: readonly LabelSpecInput[]): AnnotationLabelSpecData[] {
  if (input.length === 0)
    throw invalidArgument('A queue needs at least one label', { field: 'labelSchema' });
  if (input.length > ANNOTATION_LIMITS.labels)
    throw invalidArgument(`At most ${ANNOTATION_LIMITS.labels} labels`, { field: 'labelSchema' });
  const seen = new Set<string>();
  return input.map((label, i) => {
    const at = `labelSchema[${i}]`;
    const name = checkName(`${at}.name`, label.name, EVALUATION_LIMITS.assessmentName);
    if (seen.has(name))
      throw invalidArgument(`${at}.name: the label "${name}" is given twice`, {
        field: `${at}.name`,
      });
    seen.add(name);
    if (!(ANNOTATION_LABEL_KINDS as readonly string[]).includes(label.kind))
      throw invalidArgument(`${at}.kind must be one of ${ANNOTATION_LABEL_KINDS.join(', ')}`, {
        field: `${at}.kind`,
      });
    const kind = label.kind as AnnotationLabelSpecData['kind'];
    let min = finite(`${at}.min`, label.min);
    let max = finite(`${at}.max`, label.max);
    let options: string[] = [];
    if (kind === 'SCORE') {
      min ??= 0;
      max ??= 1;
      if (min >= max) throw invalidArgument(`${at}: min must be below max`, { field: `${at}.min` });
    } else {
      if (min !== null || max !== null)
        throw invalidArgument(`${at}: min and max are for SCORE labels only`, {
          field: `${at}.min`,
        });
      min = null;
      max = null;
    }
    if (kind === 'CATEGORICAL') {
      const raw = label.options ?? [];
      if (raw.length < 2 || raw.length > ANNOTATION_LIMITS.options)
        throw invalidArgument(
          `${at}.options: a CATEGORICAL label needs 2 to ${ANNOTATION_LIMITS.options} options`,
          { field: `${at}.options` },
        );
      options = raw.map((o, j) => checkName(`${at}.options[${j}]`, o, ANNOTATION_LIMITS.option));
      if (new Set(options).size !== options.length)
        throw invalidArgument(`${at}.options must be distinct`, { field: `${at}.options` });
    } else if ((label.options ?? []).length > 0) {
      throw invalidArgument(`${at}: options are for CATEGORICAL labels only`, {
        field: `${at}.options`,
      });
    }
    const instructions = checkOptionalText(
      `${at}.instructions`,
      label.instructions ?? null,
      ANNOTATION_LIMITS.instructions,
    );
    return {
      name,
      kind,
      min,
      max,
      options,
      required: label.required ?? false,
      instructions: instructions === null || instructions.trim() === '' ? null : instructions,
    };
  });
}

/** Why `value` does not answer `label`, or null when it does. */
export function labelValueProblem(label: AnnotationLabelSpecData, value: unknown): string | null {
  switch (label.kind) {
    case 'BOOL':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'SCORE': {
      const n = typeof value === 'number' ? value : null;
      if (n === null || numericValue(n) === null) return 'must be a number';
      if (label.min !== null && n < label.min) return `must be at least ${label.min}`;
      if (label.max !== null && n > label.max) return `must be at most ${label.max}`;
      return null;
    }
    case 'CATEGORICAL':
      return typeof value === 'string' && label.options.includes(value)
        ? null
        : `must be one of ${label.options.join(', ')}`;
    case 'TEXT':
      return typeof value === 'string' && value.trim() !== '' ? null : 'must be non-empty text';
    default:
      return assertNever(label.kind);
  }
}

export function checkAssignee(field: string, value: string): string {
  return checkName(field, value, ANNOTATION_LIMITS.assignee);
}

function itemOf(state: AnnotationQueueState, traceId: string): AnnotationItemState {
  const item = state.items.get(traceId);
  if (!item)
    throw new CairnError('NOT_FOUND', `Trace ${traceId} is not in this queue`, { traceId });
  return item;
}

function requireOpen(item: AnnotationItemState, traceId: string, verb: string): void {
  if (item.status === 'COMPLETED' || item.status === 'SKIPPED')
    throw new CairnError(
      'FAILED_PRECONDITION',
      `Cannot ${verb} trace ${traceId}: its item is ${item.status.toLowerCase()}`,
      { traceId, status: item.status },
    );
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export const annotationQueueDecider: Decider<AnnotationQueueCommand, AnnotationQueueState> = {
  initialState: () => ({
    queueId: null,
    name: '',
    description: null,
    labelSchema: [],
    deleted: false,
    items: new Map(),
  }),

  evolve(state, event) {
    switch (event.type) {
      case 'AnnotationQueueCreated':
        return {
          queueId: event.data.queueId,
          name: event.data.name,
          description: event.data.description,
          labelSchema: event.data.labelSchema,
          deleted: false,
          items: new Map(),
        };
      case 'AnnotationQueueUpdated':
        return {
          ...state,
          name: event.data.name,
          description: event.data.description,
          labelSchema: event.data.labelSchema,
        };
      case 'AnnotationQueueItemsAdded': {
        const items = new Map(state.items);
        for (const traceId of event.data.items)
          if (!items.has(traceId))
            items.set(traceId, { status: 'PENDING', assignee: null, by: null });
        return { ...state, items };
      }
      case 'AnnotationQueueItemAssigned': {
        const items = new Map(state.items);
        items.set(event.data.traceId, {
          status: 'ASSIGNED',
          assignee: event.data.assignee,
          by: null,
        });
        return { ...state, items };
      }
      case 'AnnotationQueueItemCompleted':
      case 'AnnotationQueueItemSkipped': {
        const items = new Map(state.items);
        const before = items.get(event.data.traceId);
        items.set(event.data.traceId, {
          status: event.type === 'AnnotationQueueItemCompleted' ? 'COMPLETED' : 'SKIPPED',
          assignee: before?.assignee ?? null,
          by: event.data.by,
        });
        return { ...state, items };
      }
      case 'AnnotationQueueDeleted':
        return { ...state, deleted: true };
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type === 'CreateAnnotationQueue') {
      if (state.queueId !== null)
        throw new CairnError(
          'ALREADY_EXISTS',
          `Annotation queue ${command.queueId} already exists`,
        );
      return [
        newEvent(ctx, 'AnnotationQueueCreated', {
          queueId: command.queueId,
          name: validQueueName(command.name),
          description: validDescription(command.description),
          labelSchema: validLabelSchema(command.labelSchema),
        }),
      ];
    }
    if (state.queueId === null || state.deleted)
      throw new CairnError('NOT_FOUND', 'Annotation queue not found');
    const queueId = state.queueId;
    switch (command.type) {
      case 'UpdateAnnotationQueue': {
        const next = {
          queueId,
          name: command.name === undefined ? state.name : validQueueName(command.name),
          description:
            command.description === undefined
              ? state.description
              : validDescription(command.description),
          labelSchema:
            command.labelSchema === undefined
              ? state.labelSchema
              : validLabelSchema(command.labelSchema),
        };
        const unchanged =
          next.name === state.name &&
          next.description === state.description &&
          sameJson(next.labelSchema, state.labelSchema);
        return unchanged ? [] : [newEvent(ctx, 'AnnotationQueueUpdated', next)];
      }
      case 'AddAnnotationQueueItems': {
        const fresh = [...new Set(command.traceIds)].filter((id) => !state.items.has(id));
        if (fresh.length === 0) return [];
        if (state.items.size + fresh.length > ANNOTATION_LIMITS.itemsPerQueue)
          throw new CairnError(
            'FAILED_PRECONDITION',
            `A queue holds at most ${ANNOTATION_LIMITS.itemsPerQueue} traces (it has ${state.items.size}, ${fresh.length} more given)`,
            { limit: ANNOTATION_LIMITS.itemsPerQueue, items: state.items.size },
          );
        const events = [];
        for (let i = 0; i < fresh.length; i += ANNOTATION_LIMITS.tracesPerAdd)
          events.push(
            newEvent(ctx, 'AnnotationQueueItemsAdded', {
              queueId,
              items: fresh.slice(i, i + ANNOTATION_LIMITS.tracesPerAdd),
            }),
          );
        return events;
      }
      case 'AssignAnnotationQueueItem': {
        const item = itemOf(state, command.traceId);
        requireOpen(item, command.traceId, 'assign');
        if (item.status === 'ASSIGNED' && item.assignee === command.assignee) return [];
        return [
          newEvent(ctx, 'AnnotationQueueItemAssigned', {
            queueId,
            traceId: command.traceId,
            assignee: command.assignee,
          }),
        ];
      }
      case 'AssignNextAnnotationQueueItem': {
        for (const [traceId, item] of state.items) {
          if (item.status !== 'PENDING') continue;
          return [
            newEvent(ctx, 'AnnotationQueueItemAssigned', {
              queueId,
              traceId,
              assignee: command.assignee,
            }),
          ];
        }
        return [];
      }
      case 'CompleteAnnotationQueueItem':
      case 'SkipAnnotationQueueItem': {
        const item = itemOf(state, command.traceId);
        const done = command.type === 'CompleteAnnotationQueueItem' ? 'COMPLETED' : 'SKIPPED';
        // A retry of the same call changes nothing.
        if (item.status === done && item.by === command.by) return [];
        requireOpen(item, command.traceId, done === 'COMPLETED' ? 'complete' : 'skip');
        return [
          newEvent(
            ctx,
            done === 'COMPLETED' ? 'AnnotationQueueItemCompleted' : 'AnnotationQueueItemSkipped',
            { queueId, traceId: command.traceId, by: command.by },
          ),
        ];
      }
      case 'DeleteAnnotationQueue':
        return [newEvent(ctx, 'AnnotationQueueDeleted', { queueId })];
      default:
        return assertNever(command);
    }
  },
};
