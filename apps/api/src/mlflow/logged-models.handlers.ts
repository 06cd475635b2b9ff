import type { MlflowRoute } from './mlflow-route.ts';

/** MLflow logged-models endpoints (docs/mlflow-compatibility.md). */
export const loggedModelRoutes: MlflowRoute[] = [];
