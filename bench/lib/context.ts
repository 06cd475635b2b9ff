import type { Cairn } from './cairn.ts';
import type { Mlflow } from './mlflow.ts';
import type { LatencySummary } from './stats.ts';

export interface Settings {
  quick: boolean;
  reps: number;
  /** Seconds of each measured load window (B1, B2) and warm-up before it. */
  windowS: number;
  warmupS: number;
}

/** A row of the summary table. */
export interface ResultRow {
  bench: string;
  workload: string;
  cairn: string;
  mlflow: string;
  /** Cairn's advantage (× better: throughput ratio, or MLflow latency / Cairn latency). */
  ratio: number;
  target: string;
  /** 'met' | 'missed' | '' (no target for this row). */
  verdict: string;
}

export interface DetailRow {
  bench: string;
  workload: string;
  system: string;
  metric: string;
  reps: number;
  median: string;
  latency?: LatencySummary;
  note?: string;
}

export interface Ctx {
  settings: Settings;
  cairn: Cairn;
  mlflow: Mlflow;
  rows: ResultRow[];
  details: DetailRow[];
  notes: string[];
  /** Set by B1: Cairn's best median queryable points/s (B7 paces at half of it). */
  cairnPeakQueryable?: number;
  cairnPeakAcked?: number;
  mlflowPeak?: number;
  b3?: { n: number; cairn: LatencySummary; mlflow: LatencySummary }[];
  log: (msg: string) => void;
}
