import type { MlflowRoute } from './mlflow-route.ts';
import { artifactRoutes } from './artifacts.handlers.ts';
import { experimentRoutes } from './experiments.handlers.ts';
import { loggedModelRoutes } from './logged-models.handlers.ts';
import { modelVersionRoutes } from './model-versions.handlers.ts';
import { registryRoutes } from './registry.handlers.ts';
import { runRoutes } from './runs.handlers.ts';
import { traceRoutes } from './traces.handlers.ts';

/**
 * Every MLflow endpoint Cairn serves: each handler file exports its `MlflowRoute[]` and is
 * listed here once (docs/mlflow-compatibility.md, "Extending").
 */
export const mlflowRoutes: readonly MlflowRoute[] = [
  ...experimentRoutes,
  ...runRoutes,
  ...loggedModelRoutes,
  ...registryRoutes,
  ...modelVersionRoutes,
  ...artifactRoutes,
  ...traceRoutes,
];
