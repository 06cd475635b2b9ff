/**
 * @cairn/sdk: Cairn tracking (CairnClient), model registry, prompts and tracing for Node.js.
 * See docs/typescript-sdk.md.
 */
export { VERSION } from './version.ts';
export {
  SpanType,
  type SpanTypeName,
  SPAN_INPUTS,
  SPAN_OUTPUTS,
  SPAN_TYPE,
  TRACE_ENVIRONMENT,
  TRACE_METADATA,
  TRACE_MODEL_VERSION,
  TRACE_PROMPT_VERSIONS,
  TRACE_RUN_ID,
  TRACE_SESSION,
  TRACE_TAGS,
  TRACE_USER,
} from './attributes.ts';
export {
  DEFAULT_TRACKING_URI,
  type CairnLogger,
  type ExporterOptions,
  type ProcessorOptions,
} from './config.ts';
export { CairnSpanExporter, type ExporterStats } from './exporter.ts';
export { CairnSpanProcessor, type ProcessorStats } from './processor.ts';
export { toJsonable, type JsonValue } from './json.ts';
export { LiveSpan, type SpanEndOptions, type StatusName } from './span.ts';
export {
  configure,
  flush,
  getCurrentSpan,
  getExportPipeline,
  getLastActiveTraceId,
  getTrace,
  isEnabled,
  shutdown,
  startSpan,
  trace,
  updateCurrentTrace,
  withSpan,
  type CairnOptions,
  type SpanOptions,
  type StartSpanOptions,
  type TokenUsage,
  type TraceOptions,
  type TraceSpanView,
  type TraceUpdate,
  type TraceView,
} from './tracing.ts';
export { wrapOpenAI } from './openai.ts';
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
  CairnClient,
  type CairnClientOptions,
  type CreateModelVersionOptions,
  type CreatePromptVersionOptions,
  type CreateRunOptions,
  type LogBatchInput,
  type LogMetricOptions,
  type MetricHistoryOptions,
  type UpdateRunOptions,
} from './client.ts';
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
export {
  MetricBatcher,
  type BatcherSettings,
  type BatcherStats,
  type QueuedPoint,
  type SendMetrics,
} from './batcher.ts';
export { validateArtifactPath, type ArtifactSource, type LoggedArtifact } from './artifacts.ts';
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
