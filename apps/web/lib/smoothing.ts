/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled
 * towards zero). Non-finite inputs give null (a gap) and do not disturb the average. Pure.
 */
export function smooth(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(values.length);
  if (!(weight > 0)) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      out[i] = v !== null && v !== undefined && Number.isFinite(v) ? v : null;
    }
    return out;
  }
  const w = Math.min(weight, 0.999);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * w + (1 - w) * v;
    count += 1;
    out[i] = last / (1 - Math.pow(w, count));
  }
  return out;
}
