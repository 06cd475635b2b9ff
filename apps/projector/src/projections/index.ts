import type { Projection } from '../projection.ts';
import { artifactsProjection } from './artifacts.projection.ts';
import { experimentsProjection } from './experiments.projection.ts';
import { runsProjection } from './runs.projection.ts';

export const allProjections: readonly Projection[] = [
  experimentsProjection,
  runsProjection,
  artifactsProjection,
];

export function findProjection(name: string): Projection | undefined {
  return allProjections.find((p) => p.name === name);
}
