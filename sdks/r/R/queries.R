# The GraphQL documents the package sends (schema: packages/schema/schema.graphql).

EXPERIMENT_FIELDS <- "id name artifactLocation lifecycleStage createdAt tags { key value }"
RUN_FIELDS <- paste(
  "id name experimentId status startTime endTime lifecycleStage params { key value }",
  "tags { key value } latestMetrics { key value step timestamp }"
)
MODEL_VERSION_FIELDS <- paste(
  "id modelName version source runId description tags { key value } stage status aliases",
  "createdAt"
)
REGISTERED_MODEL_FIELDS <- paste0(
  "id name description tags { key value } createdAt aliases { alias version } ",
  "latestVersions { ", MODEL_VERSION_FIELDS, " }"
)
PROMPT_VERSION_FIELDS <- paste(
  "name version uri templateType template messages { role content } variables aliases",
  "modelConfig commitMessage tags { key value }"
)

Q_CREATE_EXPERIMENT <- paste0(
  "mutation CairnCreateExperiment($name: String!, $tags: [KeyValueInput!]) { ",
  "createExperiment(name: $name, tags: $tags) { ", EXPERIMENT_FIELDS, " } }"
)
Q_EXPERIMENT_BY_NAME <- paste0(
  "query CairnExperimentByName($name: String!) { experimentByName(name: $name) { ",
  EXPERIMENT_FIELDS, " } }"
)
Q_CREATE_RUN <- paste0(
  "mutation CairnCreateRun($experimentId: String!, $name: String, $startTime: Timestamp, ",
  "$tags: [KeyValueInput!]) { createRun(experimentId: $experimentId, name: $name, ",
  "startTime: $startTime, tags: $tags) { ", RUN_FIELDS, " } }"
)
Q_UPDATE_RUN <- paste0(
  "mutation CairnUpdateRun($runId: String!, $status: RunStatus, $endTime: Timestamp) { ",
  "updateRun(runId: $runId, status: $status, endTime: $endTime) { ", RUN_FIELDS, " } }"
)
Q_GET_RUN <- paste0("query CairnRun($id: String!) { run(id: $id) { ", RUN_FIELDS, " } }")
Q_LOG_PARAM <- paste0(
  "mutation CairnLogParam($runId: String!, $key: String!, $value: String!) { ",
  "logParam(runId: $runId, key: $key, value: $value) { id } }"
)
Q_SET_TAG <- paste0(
  "mutation CairnSetTag($runId: String!, $key: String!, $value: String!) { ",
  "setTag(runId: $runId, key: $key, value: $value) { id } }"
)
Q_LOG_BATCH <- paste0(
  "mutation CairnLogBatch($runId: String!, $metrics: [MetricInput!], $params: [KeyValueInput!], ",
  "$tags: [KeyValueInput!], $sync: Boolean, $idempotencyKey: String) { logBatch(runId: $runId, ",
  "metrics: $metrics, params: $params, tags: $tags, sync: $sync, idempotencyKey: $idempotencyKey) ",
  "{ id } }"
)
Q_METRIC_HISTORY <- paste0(
  "query CairnMetricHistory($id: String!, $key: String!, $maxPoints: Int, $startStep: Long, ",
  "$endStep: Long) { run(id: $id) { id metricHistory(key: $key, maxPoints: $maxPoints, ",
  "startStep: $startStep, endStep: $endStep) { step timestamp value } } }"
)
Q_SEARCH_RUNS <- paste0(
  "query CairnSearchRuns($experimentIds: [String!]!, $first: Int, $after: String, ",
  "$filter: String, $orderBy: [String!]) { runs(experimentIds: $experimentIds, first: $first, ",
  "after: $after, filter: $filter, orderBy: $orderBy) { nodes { ", RUN_FIELDS,
  " } pageInfo { hasNextPage endCursor } } }"
)

Q_CREATE_REGISTERED_MODEL <- paste0(
  "mutation CairnCreateRegisteredModel($name: String!, $description: String) { ",
  "createRegisteredModel(name: $name, description: $description) { ", REGISTERED_MODEL_FIELDS,
  " } }"
)
Q_REGISTERED_MODEL <- paste0(
  "query CairnRegisteredModel($name: String!) { registeredModel(name: $name) { ",
  REGISTERED_MODEL_FIELDS, " } }"
)
Q_CREATE_MODEL_VERSION <- paste0(
  "mutation CairnCreateModelVersion($name: String!, $source: String!, $runId: String, ",
  "$description: String) { createModelVersion(name: $name, source: $source, runId: $runId, ",
  "description: $description) { ", MODEL_VERSION_FIELDS, " } }"
)
Q_SET_MODEL_ALIAS <- paste0(
  "mutation CairnSetModelAlias($name: String!, $alias: String!, $version: Int!) { ",
  "setModelAlias(name: $name, alias: $alias, version: $version) { ", MODEL_VERSION_FIELDS, " } }"
)
Q_RESOLVE_MODEL_URI <- paste0(
  "query CairnResolveModelUri($uri: String!) { resolveModelUri(uri: $uri) { ",
  MODEL_VERSION_FIELDS, " } }"
)

Q_CREATE_PROMPT_VERSION <- paste0(
  "mutation CairnCreatePromptVersion($name: String!, $template: String, $commitMessage: String, ",
  "$createPromptIfMissing: Boolean) { createPromptVersion(name: $name, template: $template, ",
  "commitMessage: $commitMessage, createPromptIfMissing: $createPromptIfMissing) { ",
  PROMPT_VERSION_FIELDS, " } }"
)
Q_SET_PROMPT_ALIAS <- paste0(
  "mutation CairnSetPromptAlias($name: String!, $alias: String!, $version: Int!) { ",
  "setPromptAlias(name: $name, alias: $alias, version: $version) { ", PROMPT_VERSION_FIELDS, " } }"
)
Q_RESOLVE_PROMPT_URI <- paste0(
  "query CairnResolvePromptUri($uri: String!) { resolvePromptUri(uri: $uri) { ",
  PROMPT_VERSION_FIELDS, " } }"
)
