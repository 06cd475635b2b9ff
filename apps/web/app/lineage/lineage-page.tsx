'use client';

import Link from 'next/link';
import { useMemo } from 'react';
import { useQuery } from 'urql';
import { ErrorMessage } from '../../components/error-message.tsx';
import { describeError } from '../../lib/graphql/errors.ts';
import { useQueryState } from '../../lib/hooks.ts';
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
} from './lineage-layout.ts';

const DIRECTIONS = ['BOTH', 'UPSTREAM', 'DOWNSTREAM'] as const;

/**
 * `/lineage?kind=RUN&id=…` (or `name`, `version`, `digest`; `direction`, `depth`): the lineage
 * graph around one object (docs/governance.md, "Lineage"), drawn as SVG with one column per kind
 * (datasets → runs → logged models → model versions → deployments → evaluation runs → prompt
 * versions → traces). Click a node to centre the graph on it; its link opens the object's page.
 * Labels are rendered as text. Fetched on load and on "Refresh" (no polling).
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
        <button type="button" onClick={() => refetch({ requestPolicy: 'network-only' })}>
          Refresh
        </button>
      </div>
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
                onClick={() => setQuery(new URLSearchParams(lineageHref(n).split('?')[1]))}
                onKeyDown={(e) => {
                  if (e.key === 'Enter')
                    setQuery(new URLSearchParams(lineageHref(n).split('?')[1]));
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
                    <Link href={lineageHref(n)}>{n.label}</Link>
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
