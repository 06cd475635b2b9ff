/**
 * MLflow's "latest" value of a metric: the point with the highest step, then the highest
 * timestamp, then the highest value. NaN ranks above every number, as Postgres orders float8,
 * so this choice and the SQL guard in runs.projection.ts agree.
 */
export interface RankedPoint {
  step: number;
  timestamp: number;
  value: number;
}

function compareValues(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return a === b ? 0 : a < b ? -1 : 1;
}

export function comparePoints(a: RankedPoint, b: RankedPoint): number {
  if (a.step !== b.step) return a.step < b.step ? -1 : 1;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return compareValues(a.value, b.value);
}
