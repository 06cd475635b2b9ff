/**
 * Read-model helpers both sides need: the rows a creation event produces (the projections insert
 * them; the API answers a create whose projection missed the read-your-writes deadline with
 * them) and the log checkpoint helpers. Pure or transaction-scoped; no pools, no app code.
 */
export * from './checkpoints.ts';
export * from './rows/experiments.ts';
export * from './rows/runs.ts';
export * from './rows/prompts.ts';
export * from './rows/deployments.ts';
export * from './rows/registry.ts';
