import type { MlflowRoute } from './mlflow-route.ts';

/** MLflow traces endpoints (docs/mlflow-compatibility.md). */
export const traceRoutes: MlflowRoute[] = [];
