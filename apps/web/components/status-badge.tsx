import type { RunStatus } from '../lib/graphql/documents.ts';

/** The status as a word on a coloured pill (the colour is never the only cue). */
export function StatusBadge({ status }: { status: RunStatus | 'DELETED' }) {
  return <span className={`badge ${status}`}>{status.toLowerCase()}</span>;
}
