/**
 * The runs table as CSV (RFC 4180): the fixed columns (run id, name, status, start, end, duration)
 * then the data columns the user chose, in the table's order. Pure.
 */
import type { DataColumn } from './run-columns.ts';

export interface CsvRun {
  id: string;
  name: string;
  status: string;
  startTime: number;
  endTime: number | null;
  params: ReadonlyMap<string, string>;
  tags: ReadonlyMap<string, string>;
  metrics: ReadonlyMap<string, number>;
}

/** One field: quoted when it holds a comma, quote, CR or LF (quotes doubled), or edge spaces. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/u.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

export function csvHeader(columns: readonly DataColumn[]): string[] {
  return [
    'run_id',
    'name',
    'status',
    'start_time',
    'end_time',
    'duration_ms',
    ...columns.map((c) => `${c.kind}.${c.key}`),
  ];
}

export function csvRow(run: CsvRun, columns: readonly DataColumn[]): string[] {
  return [
    run.id,
    run.name,
    run.status,
    iso(run.startTime),
    iso(run.endTime),
    run.endTime === null ? '' : String(run.endTime - run.startTime),
    ...columns.map((c) => {
      if (c.kind === 'metrics') {
        const v = run.metrics.get(c.key);
        return v === undefined ? '' : String(v);
      }
      return (c.kind === 'params' ? run.params : run.tags).get(c.key) ?? '';
    }),
  ];
}

/** Header and one line per run, CRLF line ends (what spreadsheets expect). */
export function runsCsv(runs: readonly CsvRun[], columns: readonly DataColumn[]): string {
  const lines = [csvHeader(columns), ...runs.map((r) => csvRow(r, columns))];
  return lines.map((fields) => fields.map(csvField).join(',')).join('\r\n') + '\r\n';
}
