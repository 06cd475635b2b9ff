'use client';

import { ObjectHistory } from '../../components/object-history.tsx';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useQueryState, useSubscriptionEffect } from '../../lib/hooks.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { DeploymentHistory } from './deployment-history.tsx';
import { DeploymentMetrics, RANGES } from './deployment-metrics.tsx';
import {
  DeploymentStatusBadge,
  TrafficSplitBar,
  TypedError,
  VariantServes,
} from './deployment-parts.tsx';
import {
  DELETE_DEPLOYMENT,
  DEPLOYMENT_CHANGED,
  DEPLOYMENT_HISTORY_QUERY,
  DEPLOYMENT_QUERY,
  HISTORY_PAGE,
  ROLLBACK_DEPLOYMENT,
  type DeploymentChangedDetail,
  type DeploymentDetail,
  type DeploymentEvent,
  type DeploymentHistoryResult,
  type DeploymentResult,
  type DeploymentSummary,
  type DeploymentVariant,
} from './deployments.documents.ts';
import { mergeHistory, rollbackTarget, toMillis, versionLabel } from './deployments-logic.ts';
import { TrafficEditor } from './traffic-editor.tsx';
import { useMutation } from './use-mutation.ts';

const DEFAULT_SINCE = 3600;

interface Shown {
  name: string;
  deployment: DeploymentDetail | null;
}

interface Older {
  key: string;
  events: DeploymentEvent[];
  cursor: string | null;
  hasMore: boolean;
  loading: boolean;
}

/**
 * `/deployments/view?name=…&since=…`: one deployment. Target, config (and rendered manifests),
 * variants with the version each serves, the traffic split (editable), live request / latency /
 * error-rate charts per variant, the history (newest first), "Roll back" per variant and delete.
 * Live: every `deploymentChanged(name)` push carries the whole page (metrics windows included)
 * and replaces it. No polling.
 */
export function DeploymentView() {
  const { urql } = useDashboard();
  const router = useRouter();
  const [query, setQuery] = useQueryState();
  const name = query.get('name') ?? '';
  const sinceParam = Number(query.get('since'));
  const sinceSeconds = RANGES.some((r) => r.seconds === sinceParam) ? sinceParam : DEFAULT_SINCE;
  const variables = { name, historyFirst: HISTORY_PAGE, sinceSeconds };
  const key = JSON.stringify(variables);

  const [shown, setShown] = useState<Shown | null>(null);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [deleted, setDeleted] = useState(false);
  const [older, setOlder] = useState<Older | null>(null);

  useEffect(() => {
    if (!name) return;
    let cancelled = false;
    setDeleted(false);
    void urql
      .query<DeploymentResult>(DEPLOYMENT_QUERY, JSON.parse(key) as Record<string, unknown>, {
        requestPolicy: 'network-only',
      })
      .toPromise()
      .then((result) => {
        if (cancelled) return;
        if (result.error || !result.data) {
          setError(describeError(result.error ?? { message: 'No data' }));
          return;
        }
        setError(null);
        setShown({ name, deployment: result.data.deployment });
      });
    return () => {
      cancelled = true;
    };
  }, [urql, key, name]);

  useSubscriptionEffect<DeploymentChangedDetail>(
    DEPLOYMENT_CHANGED,
    variables,
    (data) => {
      const d = data.deploymentChanged;
      if (d.name !== name) return;
      if (d.status === 'DELETED') setDeleted(true);
      setShown({ name, deployment: d });
    },
    Boolean(name),
  );

  const answered = shown !== null && shown.name === name;
  const deployment = answered ? shown.deployment : null;

  /** The mutation's answer (read-your-writes) shown at once; the push that follows agrees. */
  const applySummary = useCallback((s: DeploymentSummary) => {
    setShown((cur) =>
      cur?.deployment && cur.deployment.name === s.name
        ? { ...cur, deployment: { ...cur.deployment, ...s } }
        : cur,
    );
  }, []);

  const olderHere = older && older.key === name ? older : null;
  const loadOlder = async () => {
    if (!deployment) return;
    const after = olderHere?.cursor ?? deployment.history.pageInfo.endCursor;
    setOlder({
      key: name,
      events: olderHere?.events ?? [],
      cursor: after,
      hasMore: true,
      loading: true,
    });
    const result = await urql
      .query<DeploymentHistoryResult>(
        DEPLOYMENT_HISTORY_QUERY,
        { name, first: HISTORY_PAGE, after },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    const page = result.data?.deployment?.history;
    if (!page) {
      setError(describeError(result.error ?? { message: 'No data' }));
      setOlder((o) => (o ? { ...o, loading: false } : o));
      return;
    }
    setOlder((o) => ({
      key: name,
      events: [...(o?.events ?? []), ...page.edges.map((e) => e.node)],
      cursor: page.pageInfo.endCursor,
      hasMore: page.pageInfo.hasNextPage,
      loading: false,
    }));
  };

  const setSince = (seconds: number) => {
    const next = new URLSearchParams(query);
    if (seconds === DEFAULT_SINCE) next.delete('since');
    else next.set('since', String(seconds));
    setQuery(next);
  };

  if (!name) return <p>No deployment given.</p>;
  if (error && !deployment) return <TypedError error={error} />;
  if (!deployment)
    return (
      <p className="page-loading" data-testid={answered ? 'deployment-not-found' : undefined}>
        {answered ? `Deployment “${name}” not found.` : 'Loading…'}
      </p>
    );

  const head = deployment.history.edges.map((e) => e.node);
  const history = olderHere ? mergeHistory(head, olderHere.events) : head;
  const hasMoreHistory = olderHere ? olderHere.hasMore : deployment.history.pageInfo.hasNextPage;

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/deployments">Deployments</Link>
        <span aria-hidden="true">/</span>
        <span>{deployment.name}</span>
      </nav>
      <h1>
        {deployment.name} <DeploymentStatusBadge status={deployment.status} />
      </h1>
      <p className="lineage-link">
        <Link href={`/lineage?kind=DEPLOYMENT&id=${encodeURIComponent(deployment.id)}`}>
          Lineage
        </Link>
      </p>
      {deployment.statusMessage && (
        <p className="muted status-message" data-testid="status-message">
          {deployment.statusMessage}
        </p>
      )}
      {deleted && (
        <p className="error-box" role="status">
          This deployment was deleted.
        </p>
      )}
      {error && <TypedError error={error} />}
      <dl className="cards">
        <Card label="Target" testId="deployment-target">
          {deployment.target}
        </Card>
        <Card label="Endpoint" testId="deployment-endpoint" mono>
          {deployment.endpoint ?? '—'}
        </Card>
        <Card label="Model" mono>
          {deployment.modelUri}
        </Card>
        <Card label="Created">{formatTimestamp(toMillis(deployment.createdAt))}</Card>
        <Card label="Last change">{formatTimestamp(toMillis(deployment.updatedAt))}</Card>
      </dl>

      <VariantsSection
        deployment={deployment}
        history={history}
        onChanged={applySummary}
        disabled={deleted}
      />

      <DeploymentMetrics
        metrics={deployment.metrics}
        variants={deployment.variants}
        sinceSeconds={sinceSeconds}
        onRange={setSince}
      />

      <DeploymentHistory
        events={history}
        hasMore={hasMoreHistory}
        loadingMore={olderHere?.loading ?? false}
        onLoadMore={() => void loadOlder()}
      />
      <ObjectHistory streamId={`deployment-${deployment.id}`} title="Audit history" />

      <section aria-labelledby="config-heading">
        <h2 id="config-heading">Config</h2>
        <pre className="manifests" data-testid="deployment-config">
          {JSON.stringify(deployment.config ?? {}, null, 2)}
        </pre>
        {deployment.manifests && (
          <details>
            <summary>Rendered manifests</summary>
            <pre className="manifests" data-testid="deployment-manifests">
              {deployment.manifests}
            </pre>
          </details>
        )}
      </section>

      {!deleted && (
        <DeleteSection name={deployment.name} onDeleted={() => router.push('/deployments')} />
      )}
    </>
  );
}

function Card({
  label,
  children,
  testId,
  mono = false,
}: {
  label: string;
  children: ReactNode;
  testId?: string;
  mono?: boolean;
}) {
  return (
    <div className="card">
      <dt className="label">{label}</dt>
      <dd className={`value${mono ? ' mono' : ''}`} style={{ margin: 0 }} data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

function VariantsSection({
  deployment,
  history,
  onChanged,
  disabled,
}: {
  deployment: DeploymentDetail;
  history: DeploymentEvent[];
  onChanged: (d: DeploymentSummary) => void;
  disabled: boolean;
}) {
  const rollback = useMutation<{ rollbackDeployment: DeploymentSummary }>();
  const [confirming, setConfirming] = useState<DeploymentVariant | null>(null);
  const target = confirming
    ? rollbackTarget(history, confirming.name, confirming.servedVersion)
    : null;

  const confirm = async () => {
    const v = confirming;
    setConfirming(null);
    if (!v) return;
    const data = await rollback.run(ROLLBACK_DEPLOYMENT, {
      name: deployment.name,
      variant: v.name,
      toVersion: null,
    });
    if (data) onChanged(data.rollbackDeployment);
  };

  return (
    <section aria-labelledby="variants-heading">
      <h2 id="variants-heading">
        Variants <span className="muted">({deployment.variants.length})</span>
      </h2>
      <TrafficSplitBar variants={deployment.variants} />
      <table className="data" aria-label="Variants">
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Serves</th>
            <th scope="col">Follows</th>
            <th scope="col">Weight</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {deployment.variants.map((v) => (
            <tr key={v.name} data-variant={v.name}>
              <td>{v.name}</td>
              <td>
                <VariantServes variant={v} />{' '}
                <Link
                  href={`/models/view?name=${encodeURIComponent(v.modelName)}${
                    v.servedVersion ? `&v=${encodeURIComponent(v.servedVersion)}` : ''
                  }`}
                >
                  {v.modelName}
                </Link>
              </td>
              <td className="mono">{v.alias ? `alias @${v.alias}` : `fixed ${v.modelUri}`}</td>
              <td data-testid={`variant-weight-${v.name}`}>{v.weight} %</td>
              <td style={{ textAlign: 'right' }}>
                <button
                  type="button"
                  disabled={disabled || rollback.busy}
                  aria-label={`Roll back ${v.name}`}
                  onClick={() => {
                    rollback.setError(null);
                    setConfirming(v);
                  }}
                >
                  ↶ Roll back
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rollback.error && <TypedError error={rollback.error} />}
      {!disabled && (
        <TrafficEditor name={deployment.name} variants={deployment.variants} onSaved={onChanged} />
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={`Roll back ${confirming?.name ?? ''}?`}
        confirmLabel="Roll back"
        onConfirm={() => void confirm()}
        onCancel={() => setConfirming(null)}
      >
        {confirming && (
          <p>
            {confirming.name} of {deployment.name} serves {versionLabel(confirming.servedVersion)}{' '}
            now; it goes back to{' '}
            {target ? versionLabel(target) : 'the version it served before its last change'}.{' '}
            {confirming.alias
              ? `This moves the alias @${confirming.alias} of ${confirming.modelName} (a registry change too).`
              : 'The variant is set to that fixed version.'}
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

function DeleteSection({ name, onDeleted }: { name: string; onDeleted: () => void }) {
  const remove = useMutation<{ deleteDeployment: boolean }>();
  const [open, setOpen] = useState(false);
  return (
    <section aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete</h2>
      <p className="muted">
        Deleting stops the deployment on its target; its history stays in the event log.
      </p>
      <button
        type="button"
        className="danger"
        disabled={remove.busy}
        onClick={() => {
          remove.setError(null);
          setOpen(true);
        }}
      >
        Delete deployment
      </button>
      {remove.error && <TypedError error={remove.error} />}
      <ConfirmDialog
        open={open}
        title={`Delete ${name}?`}
        confirmLabel="Delete"
        danger
        onConfirm={() => {
          setOpen(false);
          void remove.run(DELETE_DEPLOYMENT, { name }).then((d) => d && onDeleted());
        }}
        onCancel={() => setOpen(false)}
      >
        <p>The endpoint stops answering. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}
