package dev.cairn.sdk;

/** The GraphQL documents the SDK sends (schema: packages/schema/schema.graphql). */
final class Queries {
  private Queries() {}

  static final String EXPERIMENT_FIELDS =
      "id name artifactLocation lifecycleStage createdAt tags { key value }";
  static final String RUN_FIELDS =
      "id name experimentId status startTime endTime lifecycleStage params { key value }"
          + " tags { key value } latestMetrics { key value step timestamp }";
  static final String MODEL_VERSION_FIELDS =
      "id modelName version source runId description tags { key value } stage status aliases"
          + " createdAt";
  static final String REGISTERED_MODEL_FIELDS =
      "id name description tags { key value } createdAt aliases { alias version }"
          + " latestVersions { "
          + MODEL_VERSION_FIELDS
          + " }";
  static final String PROMPT_VERSION_FIELDS =
      "name version uri templateType template messages { role content } variables aliases"
          + " modelConfig commitMessage tags { key value }";

  static final String CREATE_EXPERIMENT =
      "mutation CairnCreateExperiment($name: String!, $tags: [KeyValueInput!]) {"
          + " createExperiment(name: $name, tags: $tags) { "
          + EXPERIMENT_FIELDS
          + " } }";
  static final String EXPERIMENT_BY_NAME =
      "query CairnExperimentByName($name: String!) { experimentByName(name: $name) { "
          + EXPERIMENT_FIELDS
          + " } }";
  static final String CREATE_RUN =
      "mutation CairnCreateRun($experimentId: String!, $name: String, $startTime: Timestamp,"
          + " $tags: [KeyValueInput!]) { createRun(experimentId: $experimentId, name: $name,"
          + " startTime: $startTime, tags: $tags) { "
          + RUN_FIELDS
          + " } }";
  static final String UPDATE_RUN =
      "mutation CairnUpdateRun($runId: String!, $status: RunStatus, $endTime: Timestamp) {"
          + " updateRun(runId: $runId, status: $status, endTime: $endTime) { "
          + RUN_FIELDS
          + " } }";
  static final String GET_RUN = "query CairnRun($id: String!) { run(id: $id) { " + RUN_FIELDS + " } }";
  static final String LOG_PARAM =
      "mutation CairnLogParam($runId: String!, $key: String!, $value: String!) {"
          + " logParam(runId: $runId, key: $key, value: $value) { id } }";
  static final String SET_TAG =
      "mutation CairnSetTag($runId: String!, $key: String!, $value: String!) {"
          + " setTag(runId: $runId, key: $key, value: $value) { id } }";
  static final String LOG_BATCH =
      "mutation CairnLogBatch($runId: String!, $metrics: [MetricInput!], $params:"
          + " [KeyValueInput!], $tags: [KeyValueInput!], $sync: Boolean, $idempotencyKey:"
          + " String) { logBatch(runId: $runId, metrics: $metrics, params: $params, tags: $tags,"
          + " sync: $sync, idempotencyKey: $idempotencyKey) { id } }";
  static final String METRIC_HISTORY =
      "query CairnMetricHistory($id: String!, $key: String!, $maxPoints: Int, $startStep: Long,"
          + " $endStep: Long) { run(id: $id) { id metricHistory(key: $key, maxPoints: $maxPoints,"
          + " startStep: $startStep, endStep: $endStep) { step timestamp value } } }";
  static final String SEARCH_RUNS =
      "query CairnSearchRuns($experimentIds: [String!]!, $first: Int, $after: String, $filter:"
          + " String, $orderBy: [String!]) { runs(experimentIds: $experimentIds, first: $first,"
          + " after: $after, filter: $filter, orderBy: $orderBy) { nodes { "
          + RUN_FIELDS
          + " } pageInfo { hasNextPage endCursor } } }";

  static final String CREATE_REGISTERED_MODEL =
      "mutation CairnCreateRegisteredModel($name: String!, $description: String) {"
          + " createRegisteredModel(name: $name, description: $description) { "
          + REGISTERED_MODEL_FIELDS
          + " } }";
  static final String REGISTERED_MODEL =
      "query CairnRegisteredModel($name: String!) { registeredModel(name: $name) { "
          + REGISTERED_MODEL_FIELDS
          + " } }";
  static final String CREATE_MODEL_VERSION =
      "mutation CairnCreateModelVersion($name: String!, $source: String!, $runId: String,"
          + " $description: String) { createModelVersion(name: $name, source: $source, runId:"
          + " $runId, description: $description) { "
          + MODEL_VERSION_FIELDS
          + " } }";
  static final String SET_MODEL_ALIAS =
      "mutation CairnSetModelAlias($name: String!, $alias: String!, $version: Int!) {"
          + " setModelAlias(name: $name, alias: $alias, version: $version) { "
          + MODEL_VERSION_FIELDS
          + " } }";
  static final String RESOLVE_MODEL_URI =
      "query CairnResolveModelUri($uri: String!) { resolveModelUri(uri: $uri) { "
          + MODEL_VERSION_FIELDS
          + " } }";

  static final String CREATE_PROMPT_VERSION =
      "mutation CairnCreatePromptVersion($name: String!, $template: String, $commitMessage:"
          + " String, $createPromptIfMissing: Boolean) { createPromptVersion(name: $name,"
          + " template: $template, commitMessage: $commitMessage, createPromptIfMissing:"
          + " $createPromptIfMissing) { "
          + PROMPT_VERSION_FIELDS
          + " } }";
  static final String SET_PROMPT_ALIAS =
      "mutation CairnSetPromptAlias($name: String!, $alias: String!, $version: Int!) {"
          + " setPromptAlias(name: $name, alias: $alias, version: $version) { "
          + PROMPT_VERSION_FIELDS
          + " } }";
  static final String RESOLVE_PROMPT_URI =
      "query CairnResolvePromptUri($uri: String!) { resolvePromptUri(uri: $uri) { "
          + PROMPT_VERSION_FIELDS
          + " } }";
}
