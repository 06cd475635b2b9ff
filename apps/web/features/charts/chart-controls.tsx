'use client';

import type { XMode } from '../../lib/series.ts';

export interface ChartSettings {
  xMode: XMode;
  smoothing: number;
  log: boolean;
  keyFilter: string;
}

const X_MODES: { value: XMode; label: string }[] = [
  { value: 'step', label: 'Step' },
  { value: 'time', label: 'Wall time' },
  { value: 'relative', label: 'Relative time' },
];

/** Reads chart settings from the query string (`x`, `smooth`, `log`, `keys`). */
export function parseChartSettings(params: URLSearchParams): ChartSettings {
  const x = params.get('x');
  const smooth = Number(params.get('smooth') ?? '0');
  return {
    xMode: x === 'time' || x === 'relative' ? x : 'step',
    smoothing: Number.isFinite(smooth) ? Math.min(0.99, Math.max(0, smooth)) : 0,
    log: params.get('log') === '1',
    keyFilter: params.get('keys') ?? '',
  };
}

export function writeChartSettings(base: URLSearchParams, s: ChartSettings): URLSearchParams {
  const params = new URLSearchParams(base);
  const set = (name: string, value: string | null) => {
    if (value) params.set(name, value);
    else params.delete(name);
  };
  set('x', s.xMode === 'step' ? null : s.xMode);
  set('smooth', s.smoothing > 0 ? String(s.smoothing) : null);
  set('log', s.log ? '1' : null);
  set('keys', s.keyFilter || null);
  return params;
}

export function ChartControls({
  settings,
  onChange,
}: {
  settings: ChartSettings;
  onChange(next: ChartSettings): void;
}) {
  return (
    <div className="toolbar" role="group" aria-label="Chart settings">
      <label className="field">
        <span>X axis</span>
        <select
          value={settings.xMode}
          onChange={(e) => onChange({ ...settings, xMode: e.target.value as XMode })}
        >
          {X_MODES.map((m) => (
            <option key={m.value} value={m.value}>
              {m.label}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Smoothing</span>
        <input
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={settings.smoothing}
          onChange={(e) => onChange({ ...settings, smoothing: Number(e.target.value) })}
          aria-valuetext={settings.smoothing === 0 ? 'off' : settings.smoothing.toFixed(2)}
        />
        <span className="mono" aria-hidden="true" style={{ width: 32 }}>
          {settings.smoothing.toFixed(2)}
        </span>
      </label>
      <label className="field">
        <input
          type="checkbox"
          checked={settings.log}
          onChange={(e) => onChange({ ...settings, log: e.target.checked })}
        />
        <span>Log scale (y)</span>
      </label>
      <label className="field grow">
        <span>Metrics</span>
        <input
          type="search"
          className="grow"
          placeholder="Filter metric keys…"
          value={settings.keyFilter}
          onChange={(e) => onChange({ ...settings, keyFilter: e.target.value })}
        />
      </label>
    </div>
  );
}
