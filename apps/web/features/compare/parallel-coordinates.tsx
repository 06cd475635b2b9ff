'use client';

import { formatMetric } from '../../lib/metric-values.ts';

const W = 720;
const H = 320;
const M = { top: 28, right: 40, bottom: 24, left: 40 };

export interface ParallelRun {
  id: string;
  name: string;
  params: ReadonlyMap<string, string>;
  metric: number | null;
}

interface Axis {
  label: string;
  /** Position 0..1 (bottom..top) of a run on this axis, null when it has no value. */
  at: (run: ParallelRun) => number | null;
  ticks: { at: number; text: string }[];
}

function paramAxis(key: string, runs: readonly ParallelRun[]): Axis {
  const values = runs.map((r) => r.params.get(key)).filter((v): v is string => v !== undefined);
  const numeric =
    values.length > 0 && values.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  if (numeric)
    return numberAxis(key, values.map(Number), (r) => {
      const v = r.params.get(key);
      return v === undefined ? null : Number(v);
    });
  const categories = [...new Set(values)].sort((a, b) => a.localeCompare(b));
  const pos = (i: number) => (categories.length === 1 ? 0.5 : i / (categories.length - 1));
  return {
    label: key,
    at: (r) => {
      const v = r.params.get(key);
      return v === undefined ? null : pos(categories.indexOf(v));
    },
    ticks: categories.map((c, i) => ({ at: pos(i), text: c })),
  };
}

function numberAxis(
  label: string,
  values: number[],
  value: (r: ParallelRun) => number | null,
): Axis {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pos = (v: number) => (hi === lo ? 0.5 : (v - lo) / (hi - lo));
  return {
    label,
    at: (r) => {
      const v = value(r);
      return v === null || !Number.isFinite(v) ? null : pos(v);
    },
    ticks:
      values.length === 0
        ? []
        : hi === lo
          ? [{ at: 0.5, text: formatMetric(lo) }]
          : [
              { at: 0, text: formatMetric(lo) },
              { at: 1, text: formatMetric(hi) },
            ],
  };
}

/**
 * Parallel coordinates: one vertical axis per param (numeric, or categorical in sorted order)
 * and a last one for the chosen metric; one polyline per run in its colour (SVG by hand, one
 * <path data-run-id> per run). A run missing a value is broken at that axis.
 */
export function ParallelCoordinates({
  runs,
  paramKeys,
  metricKey,
  colorOf,
}: {
  runs: readonly ParallelRun[];
  paramKeys: readonly string[];
  metricKey: string;
  colorOf: (runId: string) => string;
}) {
  const axes: Axis[] = [
    ...paramKeys.map((k) => paramAxis(k, runs)),
    numberAxis(
      metricKey,
      runs.map((r) => r.metric).filter((v): v is number => v !== null && Number.isFinite(v)),
      (r) => r.metric,
    ),
  ];
  if (axes.length < 2) return <p className="muted">The runs need a parameter for this view.</p>;
  const ax = (i: number) => M.left + (i / (axes.length - 1)) * (W - M.left - M.right);
  const ay = (p: number) => H - M.bottom - p * (H - M.top - M.bottom);
  return (
    <div className="scatter" data-testid="parallel-coordinates">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Parallel coordinates of ${paramKeys.join(', ')} and ${metricKey}`}
      >
        {axes.map((a, i) => (
          <g key={a.label + i}>
            <line x1={ax(i)} x2={ax(i)} y1={ay(0)} y2={ay(1)} stroke="currentColor" opacity={0.5} />
            <text x={ax(i)} y={14} textAnchor="middle" fontSize={12} fill="currentColor">
              {a.label}
            </text>
            {a.ticks.map((t) => (
              <text
                key={t.text + t.at}
                x={ax(i) + 4}
                y={ay(t.at) + 4}
                fontSize={10}
                fill="currentColor"
                opacity={0.8}
              >
                {t.text}
              </text>
            ))}
          </g>
        ))}
        {runs.map((r) => {
          let d = '';
          let pen = false;
          axes.forEach((a, i) => {
            const p = a.at(r);
            if (p === null) {
              pen = false;
              return;
            }
            d += `${pen ? 'L' : 'M'}${ax(i).toFixed(1)},${ay(p).toFixed(1)}`;
            pen = true;
          });
          return (
            <path
              key={r.id}
              className="parallel-line"
              data-run-id={r.id}
              d={d}
              fill="none"
              stroke={colorOf(r.id)}
              strokeWidth={2}
            >
              <title>{r.name}</title>
            </path>
          );
        })}
      </svg>
    </div>
  );
}
