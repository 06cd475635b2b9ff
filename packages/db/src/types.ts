import type { ColumnType, Generated } from 'kysely';

/** Timestamps are written as Date or ISO strings and read as Date. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp the database fills in by default. */
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface EventsTable {
  global_position: Generated<number>;
  transaction_id: Generated<string>;
  event_id: string;
  workspace_id: string;
  stream_id: string;
  stream_position: number;
  type: string;
  schema_version: number;
  data: ColumnType<unknown, string, string>;
  actor: string;
  correlation_id: string;
  causation_id: string | null;
  occurred_at: Timestamp;
  recorded_at: GeneratedTimestamp;
  // `origin jsonb` (migration 0024: client, address, user agent; null before) is read with
  // raw SQL where needed and left out here, so that `SELECT *`-shaped row types stay as they are.
}

/** The hash chain over the log, per workspace in log order (migration 0024, docs/governance.md). */
export interface AuditChainTable {
  workspace_id: string;
  seq: number;
  global_position: number;
  stream_id: string;
  type: string;
  hash: Buffer;
}

export interface AuditChainHeadsTable {
  workspace_id: string;
  seq: number;
  global_position: number;
  hash: Buffer;
  sealed_at: GeneratedTimestamp;
}

export interface StreamsTable {
  workspace_id: string;
  stream_id: string;
  stream_type: string;
  version: number;
  created_at: GeneratedTimestamp;
}

export interface UniqueKeysTable {
  workspace_id: string;
  scope: string;
  key: string;
  stream_id: string;
}

export interface LogCheckpointsTable {
  reader: string;
  transaction_id: string;
  global_position: number;
  updated_at: GeneratedTimestamp;
}

export interface ProjectionStreamPositionsTable {
  workspace_id: string;
  projection: string;
  stream_id: string;
  position: number;
}

export interface DeadLettersTable {
  id: Generated<number>;
  workspace_id: string;
  projection: string;
  event_id: string;
  global_position: number;
  stream_id: string;
  stream_position: number;
  event_type: string;
  error: string;
  created_at: GeneratedTimestamp;
}

export interface ExperimentsTable {
  workspace_id: string;
  experiment_id: string;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ExperimentTagsTable {
  workspace_id: string;
  experiment_id: string;
  key: string;
  value: string;
}

export interface RunsTable {
  workspace_id: string;
  run_id: string;
  experiment_id: string;
  name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  lifecycle_stage: string;
  parent_run_id: string | null;
  source_git_commit: string | null;
  source_entry_point: string | null;
  source_type: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RunParamsTable {
  workspace_id: string;
  /** The run's experiment (runs never move), for the run search's indexes. */
  experiment_id: string;
  run_id: string;
  key: string;
  value: string;
  /** left(value, 200), stored (generated): the run search's index column. */
  value_prefix: Generated<string>;
}

export type RunTagsTable = RunParamsTable;

export interface MetricKeysTable {
  workspace_id: string;
  key_id: Generated<number>;
  key: string;
}

export interface RunLatestMetricsTable {
  workspace_id: string;
  /** The run's experiment (runs never move), for the run search's indexes. */
  experiment_id: string;
  run_id: string;
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

/** One logged artifact file (the `artifacts` projection). */
export interface RunArtifactsTable {
  workspace_id: string;
  run_id: string;
  path: string;
  size: number;
  sha256: string;
  content_type: string;
  logged_at: Timestamp;
}

/** A dataset a run used (migration 0028, the `run-inputs` projection, RunInputsLogged). */
export interface RunDatasetInputsTable {
  workspace_id: string;
  run_id: string;
  /** Log order within the run (0, 1, …). */
  ordinal: number;
  name: string;
  digest: string;
  /** '' when the client gave none (part of the primary key). */
  context: string;
  source_type: string;
  source: string;
  schema: string | null;
  profile: string | null;
  tags: Jsonb<{ key: string; value: string }[]>;
  logged_at: Timestamp;
}

export interface MetricPointsTable {
  workspace_id: string;
  run_id: string;
  key_id: number;
  step: number;
  timestamp: number;
  value: number;
}

/** Up to 1,024 points of one series, sorted by step (migration 0008; `metric_points` is a view). */
export interface MetricPointChunksTable {
  workspace_id: string;
  run_id: string;
  key_id: number;
  min_step: number;
  max_step: number;
  steps: number[];
  timestamps: number[];
  /** float8[]; written as text elements so that NaN and ±Infinity survive. */
  vals: ColumnType<number[], string[], string[]>;
}

/** A series' step span and point count (migration 0008; decides its rollup levels). */
export interface MetricSeriesTable {
  workspace_id: string;
  run_id: string;
  key_id: number;
  min_step: number;
  max_step: number;
  count: number;
}

/** One bucket of the metric rollup pyramid (see metric-rollups.ts). */
export interface MetricRollupsTable {
  workspace_id: string;
  run_id: string;
  key_id: number;
  level: number;
  bucket: number;
  count: number;
  first_step: number;
  first_timestamp: number;
  first_value: number;
  last_step: number;
  last_timestamp: number;
  last_value: number;
  min_step: number;
  min_timestamp: number;
  min_value: number;
  max_step: number;
  max_timestamp: number;
  max_value: number;
}

export interface WebhooksTable {
  workspace_id: string;
  webhook_id: string;
  url: string;
  events: string[];
  model_name: string | null;
  description: string | null;
  active: boolean;
  /** AES-256-GCM sealed signing secret, as in the events (never plaintext). */
  encrypted_secret: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  workspace_id: string;
  delivery_id: string;
  webhook_id: string;
  event_id: string;
  event: string;
  /** PENDING | RETRYING | SUCCEEDED | FAILED */
  status: string;
  attempts: ColumnType<number, number | undefined, number>;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Timestamp | null;
  payload: string;
  created_at: GeneratedTimestamp;
  delivered_at: Timestamp | null;
}

export interface WebhookDeliveryAttemptsTable {
  workspace_id: string;
  delivery_id: string;
  attempt: number;
  started_at: Timestamp;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

/** Per webhook, the highest log position whose finished deliveries were pruned (migration 0021). */
export interface WebhookDeliveryHorizonsTable {
  workspace_id: string;
  webhook_id: string;
  through_position: number;
}

export interface RegisteredModelsTable {
  workspace_id: string;
  model_id: string;
  name: string;
  description: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RegisteredModelTagsTable {
  workspace_id: string;
  model_id: string;
  key: string;
  value: string;
}

export interface ModelVersionsTable {
  workspace_id: string;
  model_id: string;
  version: number;
  model_name: string;
  source: string;
  run_id: string | null;
  description: string | null;
  stage: string;
  status: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ModelVersionTagsTable {
  workspace_id: string;
  model_id: string;
  version: number;
  key: string;
  value: string;
}

export interface ModelAliasesTable {
  workspace_id: string;
  model_id: string;
  alias: string;
  version: number;
}

export interface ModelHistoryTable {
  workspace_id: string;
  model_id: string;
  stream_position: number;
  event_id: string;
  kind: string;
  at: Timestamp;
  actor: string | null;
  version: number | null;
  from_stage: string | null;
  to_stage: string | null;
  alias: string | null;
  previous_version: number | null;
}

/** jsonb: written as a JSON string (or a value pg serialises), read as the parsed value. */
type Jsonb<T = unknown> = ColumnType<T, string, string>;
/**
 * Nanoseconds since the epoch (int8). The client maps int8 to number, which is exact only
 * below 2^53: select these as `::text` wherever the exact value matters.
 */
type UnixNano = ColumnType<number, string | number | bigint, string | number | bigint>;

export interface TraceSpansTable {
  workspace_id: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  trace_state: string | null;
  name: string;
  kind: string;
  span_type: string;
  start_ns: UnixNano;
  end_ns: UnixNano | null;
  start_time: Timestamp;
  duration_ms: number | null;
  status_code: string;
  status_message: string | null;
  attributes: Jsonb<Record<string, unknown>>;
  events: Jsonb<unknown[]>;
  links: Jsonb<unknown[]>;
  resource: Jsonb<Record<string, unknown>>;
  scope: Jsonb<{ name: string; version: string | null }>;
  dropped_attributes_count: ColumnType<number, number | undefined, number>;
  dropped_events_count: ColumnType<number, number | undefined, number>;
  dropped_links_count: ColumnType<number, number | undefined, number>;
  inputs: Jsonb | null;
  outputs: Jsonb | null;
  model: string | null;
  provider: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  /** Trace-level fields a span carried (tags, metadata, session, user, links), merged into `traces`. */
  trace_fields: Jsonb<Record<string, unknown>> | null;
}

export interface TracesTable {
  workspace_id: string;
  trace_id: string;
  name: Generated<string>;
  root_span_id: string | null;
  status: Generated<string>;
  start_ns: ColumnType<number, string | number | bigint | undefined, string | number | bigint>;
  end_ns: UnixNano | null;
  start_time: GeneratedTimestamp;
  end_time: Timestamp | null;
  duration_ms: number | null;
  inputs: Jsonb | null;
  outputs: Jsonb | null;
  session_id: string | null;
  user_id: string | null;
  environment: string | null;
  run_id: string | null;
  model_version: string | null;
  prompt_versions: ColumnType<string[], string | undefined, string>;
  span_count: Generated<number>;
  error_count: Generated<number>;
  input_tokens: Generated<number>;
  output_tokens: Generated<number>;
  total_tokens: Generated<number>;
  cached_tokens: Generated<number>;
  reasoning_tokens: Generated<number>;
  cost_usd: number | null;
  deleted: Generated<boolean>;
  updated_at: GeneratedTimestamp;
}

/** `trace_tags` and `trace_metadata`: source 'span' (from attributes) or 'user' (NULL = deleted). */
export interface TraceKeyValuesTable {
  workspace_id: string;
  trace_id: string;
  key: string;
  source: 'span' | 'user';
  value: string | null;
}

/** The views `trace_tags_effective` / `trace_metadata_effective`: the user's value wins; deleted keys are absent. */
export interface TraceKeyValuesEffectiveView {
  workspace_id: string;
  trace_id: string;
  key: string;
  value: string;
}

export interface ModelPricesTable {
  workspace_id: string;
  price_id: string;
  model_pattern: string;
  provider: string | null;
  input_per_million: number;
  output_per_million: number;
  cached_input_per_million: number | null;
  effective_from: Timestamp;
}

/** A workspace's retention policy (docs/governance.md, "Retention"). */
export interface RetentionPoliciesTable {
  workspace_id: string;
  trace_days: number | null;
  metric_days: number | null;
  updated_at: Timestamp;
  updated_by: string;
}

/** The latest MetricPointsPurged cut-off of a workspace (ms since the epoch). */
export interface MetricRetentionCutoffsTable {
  workspace_id: string;
  before_ms: number;
}

export interface PromptsTable {
  workspace_id: string;
  prompt_id: string;
  name: string;
  description: string | null;
  archived: ColumnType<boolean, boolean | undefined, boolean>;
  latest_version: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PromptTagsTable {
  workspace_id: string;
  prompt_id: string;
  key: string;
  value: string;
}

export interface PromptVersionsTable {
  workspace_id: string;
  prompt_id: string;
  version: number;
  prompt_name: string;
  /** 'text' | 'chat' */
  template_type: string;
  /** `{type: 'text', text}` or `{type: 'chat', messages}`, as in PromptVersionCreated. */
  template: Jsonb<
    { type: 'text'; text: string } | { type: 'chat'; messages: { role: string; content: string }[] }
  >;
  variables: Jsonb<string[]>;
  response_format: Jsonb<Record<string, unknown>> | null;
  model_config: Jsonb<Record<string, unknown>> | null;
  commit_message: string | null;
  author: string | null;
  created_at: Timestamp;
}

export interface PromptVersionTagsTable {
  workspace_id: string;
  prompt_id: string;
  version: number;
  key: string;
  value: string;
}

export interface PromptAliasesTable {
  workspace_id: string;
  prompt_id: string;
  alias: string;
  version: number;
  updated_at: Timestamp;
  updated_by: string | null;
}

export interface PromptAliasHistoryTable {
  workspace_id: string;
  prompt_id: string;
  stream_position: number;
  event_id: string;
  alias: string;
  /** 'SET' | 'DELETED' */
  kind: string;
  from_version: number | null;
  to_version: number | null;
  actor: string | null;
  at: Timestamp;
}

/** Evaluation read models (docs/evaluation.md). `value` is SQL NULL for a JSON null. */
export interface AssessmentsTable {
  workspace_id: string;
  assessment_id: string;
  trace_id: string;
  span_id: string | null;
  /** 'FEEDBACK' | 'EXPECTATION' */
  kind: string;
  name: string;
  value: Jsonb | null;
  rationale: string | null;
  error: string | null;
  /** 'HUMAN' | 'LLM_JUDGE' | 'CODE' */
  source_type: string;
  source_id: string;
  author: string;
  run_id: string | null;
  row_key: string | null;
  rule_id: string | null;
  metadata: Jsonb<Record<string, unknown>>;
  /** Earlier revisions, oldest first: `{value, rationale, source: {type, id}, author, at}`. */
  history: Jsonb<AssessmentRevisionRow[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AssessmentRevisionRow {
  value: unknown;
  rationale: string | null;
  source: { type: string; id: string };
  author: string;
  at: string;
}

export interface EvaluationDatasetsTable {
  workspace_id: string;
  dataset_id: string;
  name: string;
  experiment_id: string | null;
  version: number;
  record_count: number;
  tags: Jsonb<{ key: string; value: string }[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EvaluationDatasetRecordsTable {
  workspace_id: string;
  dataset_id: string;
  record_id: string;
  version: number;
  position: number;
  inputs: Jsonb<Record<string, unknown>>;
  expectations: Jsonb<Record<string, unknown>>;
  tags: Jsonb<Record<string, unknown>>;
  source_trace_id: string | null;
  created_at: Timestamp;
}

export interface EvaluationRunsTable {
  workspace_id: string;
  run_id: string;
  experiment_id: string;
  scorers: Jsonb<string[]>;
  dataset_id: string | null;
  dataset_version: number | null;
  model_id: string | null;
  row_count: number;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EvaluationRowsTable {
  workspace_id: string;
  run_id: string;
  row_key: string;
  position: number;
  trace_id: string;
  inputs: Jsonb;
  outputs: Jsonb | null;
  expectations: Jsonb | null;
  created_at: Timestamp;
}

/** Online evaluation rules (docs/evaluation.md, "Online evaluation"). */
export interface EvaluationRulesTable {
  workspace_id: string;
  rule_id: string;
  name: string;
  filter: string | null;
  sampling_rate: number;
  scorers: Jsonb<{ name: string; type: string; config: Record<string, unknown> }[]>;
  active: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Annotation queues for human review (docs/evaluation.md, "Annotation queues"). */
export interface AnnotationQueuesTable {
  workspace_id: string;
  queue_id: string;
  name: string;
  description: string | null;
  label_schema: Jsonb<
    {
      name: string;
      kind: 'BOOL' | 'SCORE' | 'CATEGORICAL' | 'TEXT';
      min: number | null;
      max: number | null;
      options: string[];
      required: boolean;
      instructions: string | null;
    }[]
  >;
  item_count: Generated<number>;
  pending_count: Generated<number>;
  assigned_count: Generated<number>;
  completed_count: Generated<number>;
  skipped_count: Generated<number>;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AnnotationQueueItemsTable {
  workspace_id: string;
  queue_id: string;
  trace_id: string;
  added_position: number;
  added_index: number;
  /** PENDING, ASSIGNED, COMPLETED or SKIPPED. */
  status: string;
  assignee: string | null;
  completed_by: string | null;
  added_at: Timestamp;
  updated_at: Timestamp;
}

/** User accounts (docs/auth.md, "Users and sessions"); workspace_id = organisation id. */
export interface UsersTable {
  workspace_id: string;
  user_id: string;
  email: string;
  display_name: string;
  password_hash: string | null;
  oidc_subject: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WorkspaceMembersTable {
  workspace_id: string;
  user_id: string;
  role: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WorkspaceInvitationsTable {
  workspace_id: string;
  email: string;
  role: string;
  invited_by: string;
  invited_at: Timestamp;
}

/** Dashboard sessions: operational state written by the API, not a read model. */
export interface SessionsTable {
  id_hash: string;
  user_id: string;
  organization_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  csrf_token_hash: string;
}

export interface WorkspacesTable {
  workspace_id: string;
  organization_id: string;
  name: string;
  created_by: string;
  created_at: Timestamp;
}

export interface CustomRolesTable {
  workspace_id: string;
  name: string;
  /** Scope strings (`<resource>:<action>`). */
  scopes: Jsonb<string[]>;
  updated_at: Timestamp;
}

export interface ApiKeysTable {
  /** The key's workspace, or its organisation's id for an organisation-wide key. */
  workspace_id: string;
  key_id: string;
  /** Null for an organisation-wide key. */
  scope_workspace_id: string | null;
  organization_id: string;
  name: string;
  role: string;
  secret_hash: string;
  expires_at: Timestamp | null;
  created_by: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
  /** The service account the key acts as (migration 0025); null for a plain key. */
  service_account_id: string | null;
}

/** A service account of a workspace (migration 0025, the `auth` projection). */
export interface ServiceAccountsTable {
  workspace_id: string;
  service_account_id: string;
  name: string;
  description: string;
  role: string;
  created_by: string;
  created_at: Timestamp;
}

/**
 * A data subject's key (migration 0026, docs/governance.md "Erasure"): written by the API, not a
 * read model. `key` and `lookup` are null once the subject is erased.
 */
export interface SubjectKeysTable {
  workspace_id: string;
  subject_id: string;
  key: Buffer | null;
  lookup: string | null;
  created_at: Generated<Timestamp>;
  erased_at: Timestamp | null;
}

/** Last use of an API key: operational state written by the API, not a read model. */
export interface ApiKeyUsageTable {
  key_id: string;
  last_used_at: Timestamp;
}

/** Read models of the `deployments` projection (migration 0023, docs/deployment.md). */
export interface DeploymentsTable {
  workspace_id: string;
  deployment_id: string;
  name: string;
  target: string;
  model_uri: string;
  config: ColumnType<Record<string, unknown>, string, string>;
  status: string;
  status_message: string | null;
  endpoint: string | null;
  manifests: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface DeploymentVariantsTable {
  workspace_id: string;
  deployment_id: string;
  name: string;
  ordinal: number;
  model_uri: string;
  model_id: string;
  model_name: string;
  alias: string | null;
  served_version: number;
  weight: number;
}

export interface DeploymentHistoryTable {
  workspace_id: string;
  deployment_id: string;
  global_position: ColumnType<number, number, number>;
  ordinal: number;
  event_id: string;
  kind: string;
  variant: string | null;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  summary: string;
  at: Timestamp;
}

export interface DeploymentMetricsTable {
  workspace_id: string;
  deployment_id: string;
  global_position: ColumnType<number, number, number>;
  variant: string;
  version: string | null;
  window_start: Timestamp;
  window_end: Timestamp;
  requests: number;
  errors: number;
  latency_ms_sum: number;
  latency_buckets: number[];
}

export interface DB {
  workspaces: WorkspacesTable;
  custom_roles: CustomRolesTable;
  api_keys: ApiKeysTable;
  service_accounts: ServiceAccountsTable;
  api_key_usage: ApiKeyUsageTable;
  users: UsersTable;
  workspace_members: WorkspaceMembersTable;
  workspace_invitations: WorkspaceInvitationsTable;
  sessions: SessionsTable;
  annotation_queues: AnnotationQueuesTable;
  annotation_queue_items: AnnotationQueueItemsTable;
  assessments: AssessmentsTable;
  evaluation_datasets: EvaluationDatasetsTable;
  evaluation_dataset_records: EvaluationDatasetRecordsTable;
  evaluation_runs: EvaluationRunsTable;
  evaluation_rows: EvaluationRowsTable;
  evaluation_rules: EvaluationRulesTable;
  prompts: PromptsTable;
  prompt_tags: PromptTagsTable;
  prompt_versions: PromptVersionsTable;
  prompt_version_tags: PromptVersionTagsTable;
  prompt_aliases: PromptAliasesTable;
  prompt_alias_history: PromptAliasHistoryTable;
  deployments: DeploymentsTable;
  deployment_variants: DeploymentVariantsTable;
  deployment_history: DeploymentHistoryTable;
  deployment_metrics: DeploymentMetricsTable;
  registered_models: RegisteredModelsTable;
  registered_model_tags: RegisteredModelTagsTable;
  model_versions: ModelVersionsTable;
  model_version_tags: ModelVersionTagsTable;
  model_aliases: ModelAliasesTable;
  model_history: ModelHistoryTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  webhook_delivery_horizons: WebhookDeliveryHorizonsTable;
  events: EventsTable;
  audit_chain: AuditChainTable;
  audit_chain_heads: AuditChainHeadsTable;
  streams: StreamsTable;
  unique_keys: UniqueKeysTable;
  subject_keys: SubjectKeysTable;
  log_checkpoints: LogCheckpointsTable;
  projection_stream_positions: ProjectionStreamPositionsTable;
  dead_letters: DeadLettersTable;
  experiments: ExperimentsTable;
  experiment_tags: ExperimentTagsTable;
  runs: RunsTable;
  run_params: RunParamsTable;
  run_tags: RunTagsTable;
  run_dataset_inputs: RunDatasetInputsTable;
  metric_keys: MetricKeysTable;
  run_latest_metrics: RunLatestMetricsTable;
  metric_points: MetricPointsTable;
  metric_rollups: MetricRollupsTable;
  metric_point_chunks: MetricPointChunksTable;
  metric_series: MetricSeriesTable;
  run_artifacts: RunArtifactsTable;
  trace_spans: TraceSpansTable;
  traces: TracesTable;
  trace_tags: TraceKeyValuesTable;
  trace_metadata: TraceKeyValuesTable;
  trace_tags_effective: TraceKeyValuesEffectiveView;
  trace_metadata_effective: TraceKeyValuesEffectiveView;
  model_prices: ModelPricesTable;
  retention_policies: RetentionPoliciesTable;
  metric_retention_cutoffs: MetricRetentionCutoffsTable;
}
