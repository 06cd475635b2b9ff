/** Stream naming: `<aggregate>-<entity id>`. The Kafka key is the stream id (invariant 4). */
export type StreamType = 'experiment' | 'run';

export function experimentStreamId(experimentId: string): string {
  return `experiment-${experimentId}`;
}

export function runStreamId(runId: string): string {
  return `run-${runId}`;
}

import type { Domain } from './catalogue.ts';

/** The domain (and so the Kafka topic) of a stream, from its id; null for an unknown prefix. */
export function domainOfStream(streamId: string): Domain | null {
  if (streamId.startsWith('experiment-')) return 'experiments';
  if (streamId.startsWith('run-')) return 'runs';
  return null;
}
