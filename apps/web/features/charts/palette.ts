/** Series colours that stay apart on light and dark backgrounds (20, for the compare view). */
export const PALETTE = [
  '#3b82f6',
  '#f97316',
  '#10b981',
  '#e11d48',
  '#8b5cf6',
  '#eab308',
  '#06b6d4',
  '#db2777',
  '#84cc16',
  '#6366f1',
  '#f43f5e',
  '#14b8a6',
  '#a855f7',
  '#f59e0b',
  '#0ea5e9',
  '#22c55e',
  '#ef4444',
  '#64748b',
  '#d946ef',
  '#78716c',
] as const;

export const colorAt = (i: number): string => PALETTE[i % PALETTE.length]!;
