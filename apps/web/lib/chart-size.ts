/**
 * How many points to ask the server for per series: about two per pixel of plot width (more
 * cannot be seen; fewer would hide spikes). The charts sit in a grid of cards at least 440 px
 * wide (globals.css `.charts`), so the plot width follows from the width of the page's content.
 * Pure: the caller passes the measured width in.
 */

const MIN_CARD = 440;
const GAP = 12;
/** Card padding plus the y axis (uPlot axis size 64). */
const CHROME = 16 + 64;
export const MIN_POINTS = 200;
/** The server's largest maxPoints is 10,000; more than this is never useful on screen. */
export const MAX_POINTS_CAP = 5000;

/** The plot width in CSS pixels of one chart in a grid `containerWidth` wide. */
export function chartPlotWidth(containerWidth: number): number {
  const width = Math.max(MIN_CARD, containerWidth);
  const columns = Math.max(1, Math.floor((width + GAP) / (MIN_CARD + GAP)));
  const card = (width - GAP * (columns - 1)) / columns;
  return Math.max(100, Math.round(card - CHROME));
}

/** Points per series for charts in a grid `containerWidth` wide (≈ 2 per plot pixel). */
export function chartMaxPoints(containerWidth: number, perPixel = 2): number {
  const points = Math.round(chartPlotWidth(containerWidth) * perPixel);
  return Math.min(MAX_POINTS_CAP, Math.max(MIN_POINTS, points));
}
