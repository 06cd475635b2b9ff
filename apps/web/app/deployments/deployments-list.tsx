'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useQueryState, useSubscriptionEffect } from '../../lib/hooks.ts';
import {
  DeploymentStatusBadge,
  TrafficSplitBar,
  TypedError,
  VariantServes,
} from './deployment-parts.tsx';
import {
  DEPLOYMENTS_CHANGED,
  DEPLOYMENTS_PAGE,
  DEPLOYMENTS_QUERY,
  type DeploymentChangedSummary,
  type DeploymentSummary,
  type DeploymentsResult,
} from './deployments.documents.ts';
import { TARGETS, applyListPush, deploymentHref } from './deployments-logic.ts';

interface ListState {
  items: DeploymentSummary[];
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
}

const initial: ListState = {
  items: [],
  endCursor: null,
  hasNextPage: false,
  loading: true,
  error: null,
};

/**
 * `/deployments?target=…`: deployments by name (keyset pages, "Load more"), with what each
 * variant serves, the traffic split, status and endpoint. Live: each `deploymentChanged` push
 * (workspace-wide) replaces its row in place, adds a new one, or drops a deleted one. No polling.
 */
export function DeploymentsList() {
  const { urql } = useDashboard();
  const [query, setQuery] = useQueryState();
  const target = query.get('target') ?? '';
  const [list, setList] = useState<ListState>(initial);
  const generation = useRef(0);

  const load = useCallback(
    async (after: string | null) => {
      const gen = ++generation.current;
      setList((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<DeploymentsResult>(
          DEPLOYMENTS_QUERY,
          { first: DEPLOYMENTS_PAGE, after, target: target || null },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      if (result.error || !result.data) {
        setList((s) => ({
          ...(after === null ? initial : s),
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.deployments;
      setList((s) => ({
        items: [...(after === null ? [] : s.items), ...page.edges.map((e) => e.node)],
        endCursor: page.pageInfo.endCursor,
        hasNextPage: page.pageInfo.hasNextPage,
        loading: false,
        error: null,
      }));
    },
    [urql, target],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  useSubscriptionEffect<DeploymentChangedSummary>(DEPLOYMENTS_CHANGED, {}, (data) => {
    const pushed = data.deploymentChanged;
    if (target && pushed.target !== target) return;
    setList((s) =>
      s.loading || s.error ? s : { ...s, items: applyListPush(s.items, pushed, !s.hasNextPage) },
    );
  });

  const setTarget = (value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set('target', value);
    else next.delete('target');
    setQuery(next);
  };

  return (
    <>
      <h1>Deployments</h1>
      <div className="toolbar">
        <label className="field">
          <span>Target</span>
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="">All</option>
            {TARGETS.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">
          Deploy a model version from its page (Models → a model → a version → Deploy).
        </span>
      </div>
      {list.error && <TypedError error={list.error} />}
      {!list.loading && !list.error && list.items.length === 0 ? (
        <p className="muted" data-testid="deployments-empty">
          No deployments{target ? ` on ${target}` : ''} yet.
        </p>
      ) : (
        <table className="data" aria-label="Deployments" aria-busy={list.loading || undefined}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Target</th>
              <th scope="col">Variants (served version, weight)</th>
              <th scope="col">Status</th>
              <th scope="col">Endpoint</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((d) => (
              <tr key={d.name} data-deployment={d.name}>
                <td>
                  <Link href={deploymentHref(d.name)}>{d.name}</Link>
                </td>
                <td>{d.target}</td>
                <td>
                  <ul className="variant-list">
                    {d.variants.map((v) => (
                      <li key={v.name} data-variant={v.name}>
                        <span className="muted">{v.name}</span> <VariantServes variant={v} />{' '}
                        <span data-testid={`weight-${v.name}`}>{v.weight} %</span>
                      </li>
                    ))}
                  </ul>
                  {d.variants.length > 1 && <TrafficSplitBar variants={d.variants} compact />}
                </td>
                <td>
                  <DeploymentStatusBadge status={d.status} />
                </td>
                <td className="mono">{d.endpoint ?? <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.hasNextPage && (
        <p>
          <button type="button" disabled={list.loading} onClick={() => void load(list.endCursor)}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}
