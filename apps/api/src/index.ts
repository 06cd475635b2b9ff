export * from './errors.ts';
export * from './limits.ts';
export * from './write/decider.ts';
export * from './write/command-handler.ts';
export * from './write/projection-waiter.ts';
export * from './write/services.ts';
export * from './http/server.ts';
export * from './http/graphql-handler.ts';
export { WS_LIMITS, type HttpSecurityOptions } from './http/request-guard.ts';
export { parseList } from './http/origin-policy.ts';
export { getSchema, printCairnSchema } from './graphql/schema.ts';
export { experimentDecider } from './experiments/experiment.decider.ts';
export { runDecider } from './runs/run.decider.ts';
export * from './http/readiness.ts';
export * from './app.ts';
export * from './projector-port.ts';
export * from './artifacts/upload-sweeper.ts';
export * from './auth/user.commands.ts';
export {
  createSessionResolver,
  createSessionStore,
  SESSION_COOKIE,
  CSRF_HEADER,
  type SessionStore,
} from './auth/sessions.ts';
export { hashPassword, verifyPassword } from './auth/passwords.ts';
export {
  createApiKey,
  createWorkspace,
  revokeApiKey,
  type CreateApiKeyInput,
} from './auth/access.commands.ts';
export { API_KEY_PATTERN } from './auth/api-keys.ts';
export { ACCESS_PROJECTIONS, waitForAccessProjections } from './auth/access-catch-up.ts';
export { validateOidcConfig, type OidcConfig } from './auth/oidc.ts';
export { exportAuditLog, exportFilter, parseExportFormat } from './governance/audit-export.ts';
export {
  applyRetention,
  getRetentionPolicy,
  type RetentionResult,
} from './governance/retention.commands.ts';
export { runRetentionPass, RETENTION_ACTOR } from './governance/retention-worker.ts';
export {
  MAX_HISTORY_EVENTS,
  type HistoricalReader,
  type HistoricalStateRequest,
  type HistoricalOutcome,
  type HistoricalStreams,
} from './governance/time-travel.ts';
