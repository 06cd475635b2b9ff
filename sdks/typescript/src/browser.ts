/**
 * @cairn/sdk/browser: the tracking client (CairnClient), the model registry, prompts and typed
 * errors for browsers (and any runtime with fetch and WebCrypto: workers, Deno, Bun). No `node:`
 * import is reachable from here; `dist/cairn-sdk.browser.js` is this entry bundled into one ES
 * module for a plain `<script type="module">`. Tracing is Node only: its current-span context is
 * Node's AsyncLocalStorage (docs/typescript-sdk.md, "Browsers").
 */
export { VERSION } from './version.ts';
export { DEFAULT_TRACKING_URI, type CairnLogger } from './config.ts';
export {
  CairnBrowserClient,
  CairnBrowserClient as CairnClient,
  KEEPALIVE_BUDGET_BYTES,
  type CairnBrowserClientOptions,
  type CairnBrowserClientOptions as CairnClientOptions,
} from './client-browser.ts';
export type {
  CreateModelVersionOptions,
  CreatePromptVersionOptions,
  CreateRunOptions,
  LogBatchInput,
  LogMetricOptions,
  MetricHistoryOptions,
  UpdateRunOptions,
} from './client-base.ts';
export {
  validateArtifactPath,
  type LoggedArtifact,
  type WebArtifactSource,
} from './artifacts-web.ts';
export {
  DEFAULT_PROMPT_CACHE_TTL_MS,
  PromptError,
  PromptFormatError,
  PromptVersion,
  clearPromptCache,
  loadPrompt,
  parsePromptUri,
  promptUri,
  templateVariables,
  type LoadPromptOptions,
  type ParsedPromptUri,
  type PromptMessage,
  type PromptVersionData,
} from './prompts.ts';
export {
  AlreadyExistsError,
  BatchLoggingError,
  CairnError,
  ConflictError,
  DataLossError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  errorFor,
} from './errors.ts';
export type { BatcherStats } from './batcher.ts';
export {
  parseModelUri,
  type ModelVersion,
  type ParsedModelUri,
  type RegisteredModel,
} from './registry.ts';
export {
  LIMITS,
  type ArtifactEntry,
  type Experiment,
  type LifecycleStage,
  type Metric,
  type MetricPoint,
  type Run,
  type RunStatus,
  type SearchRunsOptions,
  type SearchRunsResult,
} from './tracking.ts';
