'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef } from 'react';
import { useQuery } from 'urql';
import { ErrorMessage } from '../../components/error-message.tsx';
import { describeError } from '../../lib/graphql/errors.ts';
import { useQueryState, useSubscriptionEffect } from '../../lib/hooks.ts';
import {
  KIND_LABEL,
  KINDS,
  LINEAGE_QUERY,
  NODE_HEIGHT,
  NODE_WIDTH,
  layout,
  lineageHref,
  pageOf,
  type Kind,
  type LineageGraph,
  type LineageNode,
} from './lineage-layout.ts';

const DIRECTIONS = ['BOTH', 'UPSTREAM', 'DOWNSTREAM'] as const;

/** Pushes are coalesced: the graph is read again this long after the last relevant one. */
const REFETCH_DEBOUNCE_MS = 400;
/** At most this many runs of the graph are followed one by one (`runChanged`). */
const MAX_WATCHED_RUNS = 20;

/** Registry changes: a new version (from a run or logged model of the graph), alias and stage moves. */
const REGISTRY_CHANGED = `subscription LineageRegistryChanged {
  registeredModelsChanged { ids models { name } }
}`;
/** Any deployment of the workspace: created, re-pointed (alias moves), its variants, deleted. */
const DEPLOYMENT_CHANGED = `subscription LineageDeploymentChanged {
  deploymentChanged { name status variants { name modelName servedVersion weight } }
}`;
/** One run of the graph: new dataset inputs, a rename. */
/** Traces of the graph's runs (`run_id IN (…)`): a new one is a new node. */
const TRACES_CHANGED = `subscription LineageTracesChanged($filter: String) {
  tracesChanged(filter: $filter) { id }
}`;
const RUN_CHANGED = `subscription LineageRunChanged($runId: String!) {
  runChanged(runId: $runId) { id name inputs { digest } }
}`;

interface DeploymentPush {
  deploymentChanged: {
    name: string;
    status: string;
    variants: { name: string; modelName: string; servedVersion: string | null; weight: number }[];
  };
}

/** The query string that centres the graph on `n`, keeping the view's other settings. */
function centredOn(query: URLSearchParams, n: LineageNode): URLSearchParams {
  const next = new URLSearchParams(lineageHref(n).split('?')[1]);
  for (const key of ['ws', 'direction', 'depth']) {
    const value = query.get(key);
    if (value) next.set(key, value);
  }
  return next;
}

/**
 * `/lineage?kind=RUN&id=…` (or `name`, `version`, `digest`; `direction`, `depth`): the lineage
 * graph around one object (docs/governance.md, "Lineage"), drawn as SVG with one column per kind
 * (datasets → runs → logged models → model versions → deployments → evaluation runs → prompt
 * versions → traces). Click a node to centre the graph on it; its link opens the object's page.
 * Labels are rendered as text. Live, no polling: the graph is read again (debounced) when a
 * subscription says something it shows, or could gain, changed (`useLineageLive`).
 */
export function LineagePage() {
  const [query, setQuery] = useQueryState();
  const kind = (query.get('kind') ?? '') as Kind;
  const direction = (DIRECTIONS as readonly string[]).includes(query.get('direction') ?? '')
    ? query.get('direction')!
    : 'BOTH';
  const depth = Number(query.get('depth') ?? '3') || 3;
  const ref = useMemo(() => {
    const r: Record<string, unknown> = { kind };
    const id = query.get('id');
    const name = query.get('name');
    const version = query.get('version');
    const digest = query.get('digest');
    if (id) r.id = id;
    if (name) r.name = name;
    if (version) r.version = Number(version);
    if (digest) r.digest = digest;
    return r;
  }, [query, kind]);
  const valid = (KINDS as readonly string[]).includes(kind);
  const [result, refetch] = useQuery<{ lineage: LineageGraph }>({
    query: LINEAGE_QUERY,
    variables: { ref, direction, depth },
    pause: !valid,
    requestPolicy: 'network-only',
  });
  const graph = result.data?.lineage ?? null;
  const reread = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const { runIds, schedule } = useLineageLive(graph, reread);
  const placed = useMemo(() => (graph ? layout(graph) : null), [graph]);
  const at = useMemo(() => new Map(placed?.nodes.map((n) => [n.id, n]) ?? []), [placed]);

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(query);
    next.set(key, value);
    setQuery(next);
  };

  return (
    <main className="lineage-page">
      <h1>Lineage</h1>
      <div className="lineage-controls">
        <label>
          Direction{' '}
          <select value={direction} onChange={(e) => set('direction', e.target.value)}>
            {DIRECTIONS.map((d) => (
              <option key={d} value={d}>
                {d.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Depth{' '}
          <select value={depth} onChange={(e) => set('depth', e.target.value)}>
            {[1, 2, 3, 4, 5, 6].map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" data-testid="lineage-live">
          live
        </span>
      </div>
      {runIds.map((id) => (
        <RunWatch key={id} runId={id} onChange={schedule} />
      ))}
      {!valid && (
        <p className="muted">
          Open the lineage of an object from its page (runs, model versions, deployments, traces),
          or give <code>?kind=RUN&amp;id=…</code>.
        </p>
      )}
      {result.error && <ErrorMessage error={describeError(result.error)} />}
      {result.fetching && !graph && <p className="page-loading">Loading…</p>}
      {graph?.truncated && (
        <p className="lineage-truncated" role="status">
          The graph has more nodes than shown: lower the depth or centre on a node.
        </p>
      )}
      {graph && placed && (
        <div className="lineage-canvas">
          <svg
            width={placed.width}
            height={placed.height}
            role="img"
            aria-label={`Lineage graph, ${graph.nodes.length} nodes`}
          >
            <defs>
              <marker
                id="lineage-arrow"
                viewBox="0 0 10 10"
                refX="10"
                refY="5"
                markerWidth="6"
                markerHeight="6"
                orient="auto"
              >
                <path d="M0,0 L10,5 L0,10 z" className="lineage-arrowhead" />
              </marker>
            </defs>
            {KINDS.filter((k) => placed.nodes.some((n) => n.kind === k)).map((k) => {
              const first = placed.nodes.find((n) => n.kind === k)!;
              return (
                <text key={k} x={first.x} y={16} className="lineage-column">
                  {KIND_LABEL[k]}
                </text>
              );
            })}
            {graph.edges.map((e) => {
              const a = at.get(e.from);
              const b = at.get(e.to);
              if (!a || !b) return null;
              const x1 = a.x + NODE_WIDTH;
              const y1 = a.y + NODE_HEIGHT / 2;
              const x2 = b.x;
              const y2 = b.y + NODE_HEIGHT / 2;
              const mid = (x1 + x2) / 2;
              return (
                <path
                  key={`${e.from}|${e.to}|${e.relation}`}
                  className="lineage-edge"
                  d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`}
                  markerEnd="url(#lineage-arrow)"
                >
                  <title>{`${e.relation}${e.context ? ` (${e.context})` : ''}`}</title>
                </path>
              );
            })}
            {placed.nodes.map((n) => (
              <g
                key={n.id}
                className={`lineage-node kind-${n.kind.toLowerCase()}${n.id === graph.centre ? ' centre' : ''}`}
                transform={`translate(${n.x},${n.y})`}
                data-node-id={n.id}
                role="button"
                tabIndex={0}
                aria-label={`Centre on ${KIND_LABEL[n.kind]}: ${n.label}`}
                onClick={() => setQuery(centredOn(query, n))}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    setQuery(centredOn(query, n));
                  }
                }}
              >
                <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
                <text x={8} y={20}>
                  {n.label.length > 22 ? `${n.label.slice(0, 21)}…` : n.label}
                </text>
                <title>{`${n.kind}: ${n.label}${n.digest ? ` (${n.digest})` : ''}`}</title>
              </g>
            ))}
          </svg>
        </div>
      )}
      {graph && (
        <table className="lineage-list">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Object</th>
              <th>Page</th>
            </tr>
          </thead>
          <tbody>
            {graph.nodes.map((n) => {
              const page = pageOf(n);
              return (
                <tr key={n.id}>
                  <td>{KIND_LABEL[n.kind]}</td>
                  <td>
                    <Link href={`/lineage?${centredOn(query, n).toString()}`}>{n.label}</Link>
                    {n.digest ? <span className="muted mono"> {n.digest}</span> : null}
                  </td>
                  <td>{page ? <Link href={page}>open</Link> : null}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}

/**
 * Keeps the graph live without polling: `registeredModelsChanged` (a model of the graph changed,
 * or, when the graph has runs or logged models, any new version that may come from them),
 * `deploymentChanged` (a deployment of the graph, or one serving a version of the graph, whose
 * status or variants changed; metrics windows alone do not count) and `runChanged` of the
 * graph's runs (returned, for one `RunWatch` each). Relevant pushes are coalesced into one
 * re-read after `REFETCH_DEBOUNCE_MS`.
 */
function useLineageLive(
  graph: LineageGraph | null,
  reread: () => void,
): { runIds: string[]; schedule: () => void } {
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const seen = useRef(new Map<string, string>());
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const schedule = useCallback(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      timer.current = null;
      reread();
    }, REFETCH_DEBOUNCE_MS);
  }, [reread]);
  const facts = useMemo(() => {
    const nodes = graph?.nodes ?? [];
    const runIds = nodes
      .filter((n) => n.kind === 'RUN' && n.refId)
      .map((n) => n.refId!)
      .slice(0, MAX_WATCHED_RUNS);
    return {
      modelIds: new Set(nodes.map((n) => n.modelId).filter((id): id is string => Boolean(id))),
      makesVersions: nodes.some((n) => n.kind === 'RUN' || n.kind === 'LOGGED_MODEL'),
      deployments: new Set(nodes.filter((n) => n.kind === 'DEPLOYMENT').map((n) => n.name)),
      versions: new Set(
        nodes.filter((n) => n.kind === 'MODEL_VERSION').map((n) => `${n.name}/${n.version}`),
      ),
      models: new Set(nodes.filter((n) => n.kind === 'MODEL_VERSION').map((n) => n.name)),
      runIds,
      traces: new Set(nodes.filter((n) => n.kind === 'TRACE').map((n) => n.refId)),
      tracesFilter: runIds.length
        ? `run_id IN (${runIds.map((id) => `'${id.replace(/'/gu, "''")}'`).join(', ')})`
        : null,
    };
  }, [graph]);
  const enabled = graph !== null;
  useSubscriptionEffect<{
    registeredModelsChanged: { ids: string[]; models: { name: string }[] };
  }>(
    REGISTRY_CHANGED,
    {},
    (data) => {
      const change = data.registeredModelsChanged;
      if (
        facts.makesVersions ||
        change.ids.some((id) => facts.modelIds.has(id)) ||
        change.models.some((m) => facts.models.has(m.name))
      )
        schedule();
    },
    enabled,
  );
  useSubscriptionEffect<{ tracesChanged: { id: string }[] }>(
    TRACES_CHANGED,
    { filter: facts.tracesFilter },
    (data) => {
      if (data.tracesChanged.some((t) => !facts.traces.has(t.id))) schedule();
    },
    enabled && facts.tracesFilter !== null,
  );
  useSubscriptionEffect<DeploymentPush>(
    DEPLOYMENT_CHANGED,
    {},
    (data) => {
      const d = data.deploymentChanged;
      const signature = JSON.stringify([d.status, d.variants]);
      const changed = seen.current.get(d.name) !== signature;
      seen.current.set(d.name, signature);
      const relevant =
        facts.deployments.has(d.name) ||
        d.variants.some(
          (v) =>
            facts.models.has(v.modelName) &&
            (v.servedVersion === null || facts.versions.has(`${v.modelName}/${v.servedVersion}`)),
        );
      if (changed && relevant) schedule();
    },
    enabled,
  );
  return { runIds: facts.runIds, schedule };
}

interface RunPush {
  runChanged: { id: string; name: string; inputs: { digest: string }[] } | null;
}

/**
 * Follows one run of the graph and asks for a re-read when what the graph shows of it changes
 * (its name, its dataset inputs); metric and param pushes alone do not count.
 */
function RunWatch({ runId, onChange }: { runId: string; onChange: () => void }) {
  const last = useRef<string | null>(null);
  useSubscriptionEffect<RunPush>(RUN_CHANGED, { runId }, (data) => {
    const run = data.runChanged;
    const signature = JSON.stringify(run ? [run.name, run.inputs.map((i) => i.digest)] : null);
    // The first push is a change too (pushes come only on changes); later ones count when the
    // name or inputs differ from the last push.
    if (last.current !== signature) onChange();
    last.current = signature;
  });
  return null;
}
