'use client';

import { formatMetric } from '../../lib/metric-values.ts';
import { niceTicks, type ScatterData } from '../../lib/compare.ts';

const W = 640;
const H = 360;
const M = { top: 16, right: 20, bottom: 48, left: 72 };

/**
 * A param (x) against a metric (y), one dot per run, drawn as SVG: with at most 20 runs this is
 * small, and each dot is a focusable element with a text label (keyboard and screen readers).
 */
export function ScatterPlot({
  data,
  xLabel,
  yLabel,
  colorOf,
}: {
  data: ScatterData;
  xLabel: string;
  yLabel: string;
  colorOf: (runId: string) => string;
}) {
  if (data.points.length === 0) {
    return (
      <p className="muted">
        No run has both {xLabel} and a finite {yLabel}.
      </p>
    );
  }
  const xs = data.points.map((p) => p.x);
  const ys = data.points.map((p) => p.y);
  const pad = (lo: number, hi: number): [number, number] =>
    lo === hi ? [lo - 1, hi + 1] : [lo - (hi - lo) * 0.06, hi + (hi - lo) * 0.06];
  const [x0, x1]: [number, number] = data.categories
    ? [-0.5, data.categories.length - 0.5]
    : pad(Math.min(...xs), Math.max(...xs));
  const [y0, y1] = pad(Math.min(...ys), Math.max(...ys));
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const xTicks = data.categories
    ? data.categories.map((c, i) => ({ v: i, text: c }))
    : niceTicks(x0, x1).map((v) => ({ v, text: formatMetric(v) }));
  const yTicks = niceTicks(y0, y1).map((v) => ({ v, text: formatMetric(v) }));
  return (
    <div className="scatter">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${yLabel} against ${xLabel}, one point per run`}
      >
        {yTicks.map((t) => (
          <g key={`y${t.v}`}>
            <line className="grid" x1={M.left} x2={W - M.right} y1={sy(t.v)} y2={sy(t.v)} />
            <text x={M.left - 6} y={sy(t.v) + 4} textAnchor="end">
              {t.text}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <g key={`x${t.v}`}>
            <line className="grid" y1={M.top} y2={H - M.bottom} x1={sx(t.v)} x2={sx(t.v)} />
            <text x={sx(t.v)} y={H - M.bottom + 16} textAnchor="middle">
              {t.text.length > 14 ? `${t.text.slice(0, 13)}…` : t.text}
            </text>
          </g>
        ))}
        <line className="axis" x1={M.left} x2={W - M.right} y1={H - M.bottom} y2={H - M.bottom} />
        <line className="axis" x1={M.left} x2={M.left} y1={M.top} y2={H - M.bottom} />
        <text x={(M.left + W - M.right) / 2} y={H - 8} textAnchor="middle">
          {xLabel}
        </text>
        <text
          transform={`translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)`}
          textAnchor="middle"
        >
          {yLabel}
        </text>
        {data.points.map((p) => (
          <circle
            key={p.runId}
            cx={sx(p.x)}
            cy={sy(p.y)}
            r={6}
            fill={colorOf(p.runId)}
            tabIndex={0}
            role="img"
            aria-label={`${p.label}: ${xLabel} ${p.xText}, ${yLabel} ${formatMetric(p.y)}`}
          >
            <title>{`${p.label}\n${xLabel} = ${p.xText}\n${yLabel} = ${formatMetric(p.y)}`}</title>
          </circle>
        ))}
      </svg>
      {data.missing > 0 && (
        <p className="muted">
          {data.missing} run{data.missing === 1 ? '' : 's'} without a value left out.
        </p>
      )}
    </div>
  );
}
