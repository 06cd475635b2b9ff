'use client';

import { formatTimestamp } from '../../lib/format.ts';
import type { DeploymentEvent } from './deployments.documents.ts';
import { toMillis, versionLabel } from './deployments-logic.ts';

const KIND_TEXT: Record<string, string> = {
  CREATED: 'Created',
  UPDATED: 'Updated',
  VERSION_CHANGED: 'Version changed',
  TRAFFIC_CHANGED: 'Traffic changed',
  ROLLED_BACK: 'Rolled back',
  STATUS_CHANGED: 'Status changed',
  DELETED: 'Deleted',
};

/** The deployment's history, newest first (the first page follows every push). */
export function DeploymentHistory({
  events,
  hasMore,
  loadingMore,
  onLoadMore,
}: {
  events: DeploymentEvent[];
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}) {
  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">History</h2>
      {events.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <table className="data" aria-label="Deployment history, newest first">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Variant</th>
              <th scope="col">Version</th>
              <th scope="col">Summary</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e, i) => {
              const at = toMillis(e.at);
              return (
                <tr key={`${at}-${e.kind}-${i}`} data-kind={e.kind}>
                  <td>
                    <time dateTime={new Date(at).toISOString()}>{formatTimestamp(at)}</time>
                  </td>
                  <td>{KIND_TEXT[e.kind] ?? e.kind}</td>
                  <td>{e.variant ?? <span className="muted">—</span>}</td>
                  <td className="mono">
                    {e.fromVersion || e.toVersion
                      ? `${e.fromVersion ? versionLabel(e.fromVersion) : '∅'} → ${
                          e.toVersion ? versionLabel(e.toVersion) : '∅'
                        }`
                      : ''}
                  </td>
                  <td className="wrap">{e.summary}</td>
                  <td className="muted">{e.actor}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {hasMore && (
        <p>
          <button type="button" disabled={loadingMore} onClick={onLoadMore}>
            Load older
          </button>
        </p>
      )}
    </section>
  );
}
