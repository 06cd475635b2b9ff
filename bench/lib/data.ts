/**
 * Deterministic workload data shared by both systems: the same runs, params, tags and metric
 * values go to Cairn and to MLflow.
 */

/** A 32-bit integer hash (splitmix-like), deterministic across runs. */
export function hash32(n: number, salt = 0): number {
  let x = (n ^ Math.imul(salt + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** A float in [0, 1) from (n, salt). */
export function unit(n: number, salt: number): number {
  return hash32(n, salt) / 2 ** 32;
}

const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'];
const TEAMS = ['vision', 'nlp', 'speech', 'rl'];
const MODELS = ['resnet50', 'vit-b16', 'bert-base', 'gpt2-small', 'whisper-tiny'];
const STAGES = ['dev', 'staging', 'prod'];

export interface KV {
  key: string;
  value: string;
}
export interface Point {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

/** Search-benchmark run i: 10 params, 5 tags, 5 metrics (one point each). */
export function searchRun(i: number, t0: number): { tags: KV[]; params: KV[]; metrics: Point[] } {
  const pick = <T>(xs: readonly T[], salt: number) => xs[hash32(i, salt) % xs.length]!;
  const tags: KV[] = [
    { key: 'team', value: pick(TEAMS, 1) },
    { key: 'owner', value: `user${hash32(i, 2) % 50}` },
    { key: 'stage', value: pick(STAGES, 3) },
    { key: 'dataset', value: `ds-${hash32(i, 4) % 20}` },
    { key: 'priority', value: String(hash32(i, 5) % 5) },
  ];
  const params: KV[] = [
    { key: 'optimizer', value: pick(OPTIMIZERS, 11) },
    { key: 'lr', value: String([0.1, 0.01, 0.001, 0.0001][hash32(i, 12) % 4]) },
    { key: 'batch_size', value: String(16 << (hash32(i, 13) % 5)) },
    { key: 'layers', value: String(2 + (hash32(i, 14) % 30)) },
    { key: 'dropout', value: (unit(i, 15) * 0.5).toFixed(2) },
    { key: 'seed', value: String(i) },
    { key: 'model', value: pick(MODELS, 16) },
    { key: 'epochs', value: String(1 + (hash32(i, 17) % 100)) },
    { key: 'warmup_steps', value: String(hash32(i, 18) % 1000) },
    { key: 'weight_decay', value: (unit(i, 19) * 0.1).toFixed(4) },
  ];
  const ts = t0 + i;
  const metrics: Point[] = [
    { key: 'loss', value: unit(i, 21), step: 0, timestamp: ts },
    { key: 'accuracy', value: unit(i, 22), step: 0, timestamp: ts },
    { key: 'f1', value: unit(i, 23), step: 0, timestamp: ts },
    { key: 'precision', value: unit(i, 24), step: 0, timestamp: ts },
    { key: 'recall', value: unit(i, 25), step: 0, timestamp: ts },
  ];
  return { tags, params, metrics };
}

/** The B3 query, in MLflow's grammar (Cairn accepts the same). */
export const SEARCH_FILTER =
  "metrics.loss < 0.5 AND params.optimizer = 'adam' AND tags.team = 'vision'";
export const SEARCH_ORDER = 'metrics.accuracy DESC';

/** Value of the deep-history metric at a step (a decaying curve with noise and rare spikes). */
export function historyValue(step: number): number {
  const spike = hash32(step, 99) % 50_000 === 0 ? 5 : 0;
  return Math.exp(-step / 300_000) + 0.05 * (unit(step, 98) - 0.5) + spike;
}

/** B1 batch: `size` points over 10 keys (size/10 steps each; size < 10 uses size keys). */
export function ingestBatch(size: number, seq: number, now: number): Point[] {
  const keys = Math.min(10, size);
  const steps = Math.ceil(size / keys);
  const out: Point[] = [];
  for (let s = 0; s < steps && out.length < size; s++) {
    const step = seq * steps + s;
    for (let k = 0; k < keys && out.length < size; k++) {
      out.push({ key: `m${k}`, value: Math.sin(step * 0.001 + k) + k, step, timestamp: now });
    }
  }
  return out;
}
