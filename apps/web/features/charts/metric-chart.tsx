'use client';

import { useEffect, useRef, useState } from 'react';
import type uPlotType from 'uplot';
import { useTheme } from '../../components/providers.tsx';
import { formatDuration, formatTimestamp } from '../../lib/format.ts';
import { formatMetric } from '../../lib/metric-values.ts';
import type { XMode } from '../../lib/series.ts';

/**
 * One metric chart on uPlot (canvas, made for 10^5–10^6 points): drag to zoom on x,
 * double-click or "Reset" to zoom out, live legend with the values under the cursor. Data
 * updates redraw in place (the zoom is kept); changing the series, axes or theme rebuilds it.
 */

export interface ChartSeries {
  label: string;
  color: string;
  /** Faint line (the raw values under a smoothed line). */
  faint?: boolean;
  width?: number;
}

export type ChartData = [number[], ...(number | null)[][]];

export interface MetricChartProps {
  title: string;
  series: ChartSeries[];
  data: ChartData;
  xMode: XMode;
  log: boolean;
  height?: number;
  /** Called with the visible x range after a zoom, null after a reset. */
  onZoom?: (range: { min: number; max: number } | null) => void;
}

let uplotModule: Promise<typeof uPlotType> | null = null;

/**
 * Loads the chart library (a separate chunk) once. Pages call it when they open, so the chunk
 * downloads while the data is being fetched instead of after it.
 */
export function loadChartLibrary(): Promise<typeof uPlotType> {
  uplotModule ??= import('uplot').then((m) => m.default);
  return uplotModule;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/iu.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function xLabel(mode: XMode): string {
  return mode === 'step' ? 'Step' : mode === 'time' ? 'Time' : 'Elapsed';
}

function xValueText(mode: XMode, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (mode === 'time') return formatTimestamp(v * 1000);
  if (mode === 'relative') return formatDuration(v * 1000);
  return String(v);
}

export function MetricChart({
  title,
  series,
  data,
  xMode,
  log,
  height = 240,
  onZoom,
}: MetricChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlotType | null>(null);
  const zoomed = useRef(false);
  const dataRef = useRef(data);
  dataRef.current = data;
  const onZoomRef = useRef(onZoom);
  onZoomRef.current = onZoom;
  const { theme } = useTheme();
  const [isZoomed, setIsZoomed] = useState(false);
  const structure = JSON.stringify([series, xMode, log, height, theme]);

  // Build (and rebuild when the structure changes).
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let disposed = false;
    let observer: ResizeObserver | null = null;
    void loadChartLibrary().then((UPlot) => {
      if (disposed) return;
      const axis = cssVar('--chart-axis', '#666');
      const grid = cssVar('--chart-grid', 'rgba(0,0,0,0.1)');
      const axisOpts = {
        stroke: axis,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1 },
      };
      const opts: uPlotType.Options = {
        width: Math.max(200, el.clientWidth),
        height,
        scales: {
          x: { time: xMode === 'time' },
          y: log ? { distr: 3 } : {},
        },
        axes: [
          {
            ...axisOpts,
            ...(xMode === 'relative'
              ? {
                  values: (_u: uPlotType, splits: (number | null)[]) =>
                    splits.map((v) => (v === null ? '' : formatDuration(v * 1000))),
                }
              : {}),
          },
          {
            ...axisOpts,
            size: 64,
            values: (_u: uPlotType, splits: (number | null)[]) =>
              splits.map((v) => (v === null ? '' : formatMetric(v))),
          },
        ],
        series: [
          { label: xLabel(xMode), value: (_u, v) => xValueText(xMode, v) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.faint ? withAlpha(s.color, 0.3) : s.color,
            width: s.width ?? (s.faint ? 1 : 1.75),
            spanGaps: true,
            value: (_u: uPlotType, v: number | null) => (v === null ? '—' : formatMetric(v)),
          })),
        ],
        cursor: { drag: { x: true, y: false, setScale: true }, focus: { prox: 24 } },
        legend: { live: true },
        hooks: {
          setScale: [
            (u, key) => {
              if (key !== 'x') return;
              const xs = u.data[0];
              const min = u.scales.x?.min;
              const max = u.scales.x?.max;
              if (min === undefined || max === undefined || xs.length === 0) return;
              const full = min <= xs[0]! && max >= xs[xs.length - 1]!;
              if (full === !zoomed.current) return;
              zoomed.current = !full;
              setIsZoomed(!full);
              onZoomRef.current?.(full ? null : { min, max });
            },
          ],
        },
      };
      chart.current?.destroy();
      zoomed.current = false;
      setIsZoomed(false);
      chart.current = new UPlot(opts, dataRef.current, el);
      observer = new ResizeObserver(() => {
        const width = Math.max(200, el.clientWidth);
        if (chart.current && chart.current.width !== width)
          chart.current.setSize({ width, height });
      });
      observer.observe(el);
    });
    return () => {
      disposed = true;
      observer?.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [structure]);

  // New data: redraw in place, keeping the zoom.
  useEffect(() => {
    chart.current?.setData(data, !zoomed.current);
  }, [data]);

  const zoomBy = (factor: number) => {
    const u = chart.current;
    const xs = u?.data[0];
    if (!u || !xs || xs.length === 0) return;
    const min = u.scales.x?.min ?? xs[0]!;
    const max = u.scales.x?.max ?? xs[xs.length - 1]!;
    const mid = (min + max) / 2;
    const half = ((max - min) / 2) * factor;
    const lo = Math.max(xs[0]!, mid - half);
    const hi = Math.min(xs[xs.length - 1]!, mid + half);
    if (hi > lo) u.setScale('x', { min: lo, max: hi });
  };
  const reset = () => {
    const u = chart.current;
    const xs = u?.data[0];
    if (!u || !xs || xs.length === 0) return;
    u.setScale('x', { min: xs[0]!, max: xs[xs.length - 1]! });
  };

  return (
    <figure className="chart" aria-label={`Chart of ${title}`} style={{ margin: 0 }}>
      <div className="toolbar" style={{ margin: '0 0 4px', gap: 4 }}>
        <button type="button" onClick={() => zoomBy(0.5)} aria-label={`Zoom in on ${title}`}>
          +
        </button>
        <button type="button" onClick={() => zoomBy(2)} aria-label={`Zoom out of ${title}`}>
          −
        </button>
        <button
          type="button"
          onClick={reset}
          disabled={!isZoomed}
          aria-label={`Reset zoom of ${title}`}
        >
          Reset
        </button>
        <span className="muted" style={{ fontSize: 12 }}>
          drag to zoom · double-click resets
        </span>
      </div>
      <div className="chart-box" ref={box} data-testid={`chart-${title}`} />
    </figure>
  );
}
