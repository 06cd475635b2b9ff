'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import {
  METRIC_HISTORIES_QUERY,
  METRIC_HISTORY_QUERY,
  METRICS_LOGGED,
  type MetricHistoriesResult,
  type MetricHistoryResult,
  type MetricsLoggedResult,
} from '../../lib/graphql/documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import { chartMaxPoints } from '../../lib/chart-size.ts';
import { appendPoints, fromWire, type Series, type WirePoint } from '../../lib/series.ts';

/**
 * Points per series asked of the server (it downsamples, keeping extremes and the last point):
 * about two per pixel of a chart's plot width, measured once when the page opens.
 */
export function useChartMaxPoints(): number {
  const [points] = useState(() =>
    chartMaxPoints(document.querySelector('main')?.clientWidth ?? window.innerWidth),
  );
  return points;
}
/** The server's limit of runs × keys per metricHistories call. */
const MAX_SERIES_PER_CALL = 400;

const seriesKey = (runId: string, key: string) => `${runId}\u0000${key}`;

interface Entry {
  series: Series;
  /** Points appended live since the last fetch: past maxPoints the series is fetched again. */
  live: number;
  refetching: boolean;
}

export interface MetricSeriesState {
  /** The series of (run, key), or undefined while not loaded. */
  get(runId: string, key: string): Series | undefined;
  /** Metric keys per run: the given ones plus any that arrived live. */
  keysOf(runId: string): string[];
  loading: boolean;
  error: ApiErrorInfo | null;
  /** Points per series asked of the server. */
  maxPoints: number;
  /** Changes whenever any series changes (a dependency for memos). */
  version: number;
  /** Feeds points pushed by the metricsLogged subscription. */
  onPoints(runId: string, points: (WirePoint & { key: string })[]): void;
}

/**
 * Downsampled histories of some runs' metrics, kept live: points pushed by `metricsLogged` are
 * appended as they come; a series that grew by more than maxPoints live points is fetched again
 * (downsampled) so the chart stays light however long the run trains.
 */
export function useMetricSeries(
  runIds: readonly string[],
  keysByRun: ReadonlyMap<string, readonly string[]>,
): MetricSeriesState {
  const { urql } = useDashboard();
  const maxPoints = useChartMaxPoints();
  const store = useRef(new Map<string, Entry>());
  const liveKeys = useRef(new Map<string, Set<string>>());
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const bump = useRef<ReturnType<typeof setTimeout> | null>(null);
  const scheduleRender = useCallback(() => {
    bump.current ??= setTimeout(() => {
      bump.current = null;
      setVersion((v) => v + 1);
    }, 50);
  }, []);

  const keysKey = JSON.stringify(runIds.map((id) => [id, [...(keysByRun.get(id) ?? [])].sort()]));

  // Initial load (and again when the runs or keys change).
  useEffect(() => {
    let cancelled = false;
    const pairs = JSON.parse(keysKey) as [string, string[]][];
    const allKeys = [...new Set(pairs.flatMap(([, keys]) => keys))];
    const ids = pairs.map(([id]) => id);
    if (ids.length === 0 || allKeys.length === 0) {
      setLoading(false);
      return;
    }
    const keysPerCall = Math.max(1, Math.floor(MAX_SERIES_PER_CALL / ids.length));
    const chunks: string[][] = [];
    for (let i = 0; i < allKeys.length; i += keysPerCall)
      chunks.push(allKeys.slice(i, i + keysPerCall));
    setLoading(true);
    void Promise.all(
      chunks.map((keys) =>
        urql
          .query<MetricHistoriesResult>(
            METRIC_HISTORIES_QUERY,
            { runIds: ids, keys, maxPoints },
            { requestPolicy: 'network-only' },
          )
          .toPromise(),
      ),
    ).then((results) => {
      if (cancelled) return;
      const failed = results.find((r) => r.error);
      if (failed?.error) setError(describeError(failed.error));
      else setError(null);
      for (const r of results) {
        for (const s of r.data?.metricHistories ?? []) {
          const k = seriesKey(s.runId, s.key);
          const existing = store.current.get(k);
          const fetched = fromWire(s.points);
          // Live points that arrived while fetching, past the fetched end, are kept.
          const merged = existing
            ? mergeTail(fetched, existing.series)
            : { series: fetched, tail: 0 };
          store.current.set(k, { series: merged.series, live: merged.tail, refetching: false });
        }
      }
      setLoading(false);
      setVersion((v) => v + 1);
    });
    return () => {
      cancelled = true;
    };
  }, [urql, keysKey, maxPoints]);

  const refetch = useCallback(
    (runId: string, key: string) => {
      const k = seriesKey(runId, key);
      const entry = store.current.get(k);
      if (!entry || entry.refetching) return;
      entry.refetching = true;
      void urql
        .query<MetricHistoryResult>(
          METRIC_HISTORY_QUERY,
          { id: runId, key, maxPoints },
          { requestPolicy: 'network-only' },
        )
        .toPromise()
        .then((r) => {
          const current = store.current.get(k);
          if (!current) return;
          current.refetching = false;
          if (!r.data?.run) return;
          const merged = mergeTail(fromWire(r.data.run.metricHistory), current.series);
          current.series = merged.series;
          // Points that arrived while fetching count towards the next refetch.
          current.live = merged.tail;
          scheduleRender();
          if (current.live > maxPoints) refetch(runId, key);
        });
    },
    [urql, scheduleRender, maxPoints],
  );

  const onPoints = useCallback(
    (runId: string, points: (WirePoint & { key: string })[]) => {
      const byKey = new Map<string, WirePoint[]>();
      for (const p of points) {
        const list = byKey.get(p.key);
        if (list) list.push(p);
        else byKey.set(p.key, [p]);
      }
      for (const [key, list] of byKey) {
        const k = seriesKey(runId, key);
        const entry = store.current.get(k);
        if (entry) {
          entry.series = appendPoints(entry.series, list);
          entry.live += list.length;
          if (entry.live > maxPoints) refetch(runId, key);
        } else {
          store.current.set(k, { series: fromWire(list), live: list.length, refetching: false });
        }
        let keys = liveKeys.current.get(runId);
        if (!keys) liveKeys.current.set(runId, (keys = new Set()));
        keys.add(key);
      }
      scheduleRender();
    },
    [refetch, scheduleRender, maxPoints],
  );

  return {
    get: (runId, key) => store.current.get(seriesKey(runId, key))?.series,
    keysOf: (runId) => {
      const keys = new Set(keysByRun.get(runId) ?? []);
      for (const k of liveKeys.current.get(runId) ?? []) keys.add(k);
      return [...keys].sort((a, b) => a.localeCompare(b));
    },
    loading,
    error,
    version,
    maxPoints,
    onPoints,
  };
}

/** The fetched series, plus the points of `live` past its last step (arrived meanwhile). */
function mergeTail(fetched: Series, live: Series): { series: Series; tail: number } {
  const lastStep = fetched.steps.length > 0 ? fetched.steps[fetched.steps.length - 1]! : -Infinity;
  const tail: WirePoint[] = [];
  for (let i = 0; i < live.steps.length; i++) {
    if (live.steps[i]! > lastStep)
      tail.push({ step: live.steps[i]!, timestamp: live.timestamps[i]!, value: live.values[i]! });
  }
  return { series: tail.length > 0 ? appendPoints(fetched, tail) : fetched, tail: tail.length };
}

/** Subscribes to the live points of one run and feeds them to the series store. */
export function LivePoints({
  runId,
  onPoints,
}: {
  runId: string;
  onPoints: (runId: string, points: (WirePoint & { key: string })[]) => void;
}): null {
  useSubscriptionEffect<MetricsLoggedResult>(
    METRICS_LOGGED,
    { runId },
    (data) => onPoints(runId, data.metricsLogged.points),
    runId !== '',
  );
  return null;
}
