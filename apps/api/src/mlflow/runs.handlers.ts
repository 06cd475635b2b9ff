import type { MlflowRoute } from './mlflow-route.ts';

/** MLflow runs endpoints (docs/mlflow-compatibility.md). */
export const runRoutes: MlflowRoute[] = [];
