/** GraphQL documents and result types of the annotation queue pages (docs/evaluation.md). */

export type AnnotationLabelKind = 'BOOL' | 'SCORE' | 'CATEGORICAL' | 'TEXT';
export type AnnotationItemStatus = 'PENDING' | 'ASSIGNED' | 'COMPLETED' | 'SKIPPED';

export interface AnnotationLabel {
  name: string;
  kind: AnnotationLabelKind;
  min: number | null;
  max: number | null;
  options: string[];
  required: boolean;
  instructions: string | null;
}

export interface AnnotationQueue {
  id: string;
  name: string;
  description: string | null;
  createdBy: string;
  createdAt: number;
  itemCount: number;
  pendingCount: number;
  assignedCount: number;
  completedCount: number;
  skippedCount: number;
  labelSchema: AnnotationLabel[];
}

export interface AnnotationLabelValue {
  id: string;
  name: string;
  value: unknown;
  author: string;
  source: { type: string; id: string };
}

export interface AnnotationQueueItem {
  queueId: string;
  traceId: string;
  status: AnnotationItemStatus;
  assignee: string | null;
  completedBy: string | null;
  addedAt: number;
  updatedAt: number;
  trace: { id: string; name: string; status: string } | null;
  labels: AnnotationLabelValue[];
}

const QUEUE = `id name description createdBy createdAt itemCount pendingCount assignedCount
  completedCount skippedCount labelSchema { name kind min max options required instructions }`;
const ITEM = `queueId traceId status assignee completedBy addedAt updatedAt
  trace { id name status } labels { id name value author source { type id } }`;

interface Page<T> {
  totalCount: number;
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const ANNOTATION_QUEUES_QUERY = `
  query AnnotationQueues($first: Int, $after: String) {
    annotationQueues(first: $first, after: $after) {
      totalCount nodes { ${QUEUE} } pageInfo { hasNextPage endCursor }
    }
  }`;
export interface AnnotationQueuesResult {
  annotationQueues: Page<AnnotationQueue>;
}

export const ANNOTATION_QUEUE_QUERY = `
  query AnnotationQueue($id: ID!, $status: AnnotationItemStatus, $first: Int, $after: String) {
    annotationQueue(id: $id) {
      ${QUEUE}
      items(first: $first, after: $after, status: $status) {
        totalCount nodes { ${ITEM} } pageInfo { hasNextPage endCursor }
      }
    }
  }`;
export interface AnnotationQueueResult {
  annotationQueue: (AnnotationQueue & { items: Page<AnnotationQueueItem> }) | null;
}

export const ANNOTATION_QUEUE_CHANGED = `
  subscription AnnotationQueueChanged($id: ID!) {
    annotationQueueChanged(id: $id) { id }
  }`;

export const CREATE_ANNOTATION_QUEUE = `
  mutation CreateAnnotationQueue($input: CreateAnnotationQueueInput!) {
    createAnnotationQueue(input: $input) { ${QUEUE} }
  }`;
export interface CreateAnnotationQueueResult {
  createAnnotationQueue: AnnotationQueue;
}

export const DELETE_ANNOTATION_QUEUE = `
  mutation DeleteAnnotationQueue($queueId: ID!) { deleteAnnotationQueue(queueId: $queueId) }`;

export const ADD_TRACES_TO_ANNOTATION_QUEUE = `
  mutation AddTracesToAnnotationQueue($input: AddTracesToAnnotationQueueInput!) {
    addTracesToAnnotationQueue(input: $input) { added matched queue { id name itemCount } }
  }`;
export interface AddTracesResult {
  addTracesToAnnotationQueue: {
    added: number;
    matched: number;
    queue: { id: string; name: string; itemCount: number };
  };
}

export const NEXT_ANNOTATION_QUEUE_ITEM = `
  mutation NextAnnotationQueueItem($queueId: ID!) {
    nextAnnotationQueueItem(queueId: $queueId) { ${ITEM} }
  }`;
export interface NextItemResult {
  nextAnnotationQueueItem: AnnotationQueueItem | null;
}

export const COMPLETE_ANNOTATION_QUEUE_ITEM = `
  mutation CompleteAnnotationQueueItem($queueId: ID!, $traceId: String!) {
    completeAnnotationQueueItem(queueId: $queueId, traceId: $traceId) { ${ITEM} }
  }`;

export const SKIP_ANNOTATION_QUEUE_ITEM = `
  mutation SkipAnnotationQueueItem($queueId: ID!, $traceId: String!) {
    skipAnnotationQueueItem(queueId: $queueId, traceId: $traceId) { ${ITEM} }
  }`;

export const ANNOTATION_ITEM_QUERY = `
  query AnnotationItem($id: ID!) {
    annotationQueue(id: $id) { ${QUEUE} }
  }`;
export interface AnnotationItemQueueResult {
  annotationQueue: AnnotationQueue | null;
}
