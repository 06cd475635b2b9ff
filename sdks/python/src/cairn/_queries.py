"""GraphQL documents used by the SDK (schema: packages/schema/schema.graphql)."""

EXPERIMENT_FIELDS = "id name artifactLocation lifecycleStage createdAt updatedAt tags { key value }"

RUN_FIELDS = """
id name experimentId status startTime endTime lifecycleStage
source { gitCommit entryPoint sourceType }
parentRun { id }
params { key value }
tags { key value }
latestMetrics { key value step timestamp }
"""

CREATE_EXPERIMENT = f"""
mutation CairnCreateExperiment($name: String!, $artifactLocation: String, $tags: [KeyValueInput!]) {{
  createExperiment(name: $name, artifactLocation: $artifactLocation, tags: $tags) {{ {EXPERIMENT_FIELDS} }}
}}"""

EXPERIMENT_BY_NAME = f"""
query CairnExperimentByName($name: String!) {{ experimentByName(name: $name) {{ {EXPERIMENT_FIELDS} }} }}"""

EXPERIMENT = f"""
query CairnExperiment($id: String!) {{ experiment(id: $id) {{ {EXPERIMENT_FIELDS} }} }}"""

EXPERIMENTS = f"""
query CairnExperiments($first: Int, $after: String, $filter: ExperimentFilter) {{
  experiments(first: $first, after: $after, filter: $filter) {{
    nodes {{ {EXPERIMENT_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

DELETE_EXPERIMENT = f"""
mutation CairnDeleteExperiment($id: String!) {{ deleteExperiment(id: $id) {{ {EXPERIMENT_FIELDS} }} }}"""

RESTORE_EXPERIMENT = f"""
mutation CairnRestoreExperiment($id: String!) {{ restoreExperiment(id: $id) {{ {EXPERIMENT_FIELDS} }} }}"""

RENAME_EXPERIMENT = f"""
mutation CairnRenameExperiment($id: String!, $name: String!) {{
  renameExperiment(id: $id, name: $name) {{ {EXPERIMENT_FIELDS} }}
}}"""

SET_EXPERIMENT_TAG = f"""
mutation CairnSetExperimentTag($id: String!, $key: String!, $value: String!) {{
  setExperimentTag(id: $id, key: $key, value: $value) {{ {EXPERIMENT_FIELDS} }}
}}"""

CREATE_RUN = f"""
mutation CairnCreateRun($experimentId: String!, $name: String, $startTime: Timestamp,
                        $parentRunId: String, $tags: [KeyValueInput!], $source: RunSourceInput) {{
  createRun(experimentId: $experimentId, name: $name, startTime: $startTime,
            parentRunId: $parentRunId, tags: $tags, source: $source) {{ {RUN_FIELDS} }}
}}"""

UPDATE_RUN = f"""
mutation CairnUpdateRun($runId: String!, $status: RunStatus, $endTime: Timestamp, $name: String) {{
  updateRun(runId: $runId, status: $status, endTime: $endTime, name: $name) {{ {RUN_FIELDS} }}
}}"""

GET_RUN = f"""
query CairnRun($id: String!) {{ run(id: $id) {{ {RUN_FIELDS} }} }}"""

DELETE_RUN = """
mutation CairnDeleteRun($runId: String!) { deleteRun(runId: $runId) { id } }"""

RESTORE_RUN = """
mutation CairnRestoreRun($runId: String!) { restoreRun(runId: $runId) { id } }"""

DELETE_TAG = """
mutation CairnDeleteTag($runId: String!, $key: String!) { deleteTag(runId: $runId, key: $key) { id } }"""

LOG_BATCH_SYNC = """
mutation CairnLogBatchSync($runId: String!, $metrics: [MetricInput!], $params: [KeyValueInput!],
                           $tags: [KeyValueInput!], $idempotencyKey: String) {
  logBatch(runId: $runId, metrics: $metrics, params: $params, tags: $tags, sync: true,
           idempotencyKey: $idempotencyKey) { id }
}"""

METRIC_HISTORY = """
query CairnMetricHistory($id: String!, $key: String!, $maxPoints: Int, $startStep: Long,
                         $endStep: Long) {
  run(id: $id) {
    id
    metricHistory(key: $key, maxPoints: $maxPoints, startStep: $startStep, endStep: $endStep) {
      step timestamp value
    }
  }
}"""

METRIC_KEYS = """
query CairnMetricKeys($id: String!) { run(id: $id) { id metricKeys } }"""

RUNS_ARGS_INTROSPECTION = """
query CairnRunsArgs {
  __type(name: "Query") {
    fields { name args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } }
  }
}"""


def search_runs_query(extra_args: "dict[str, str]") -> str:
    """The ``runs`` query; ``extra_args`` maps optional argument names (filter, orderBy) to
    their GraphQL types as the server declares them."""
    decl = "".join(f", ${name}: {gql_type}" for name, gql_type in extra_args.items())
    use = "".join(f", {name}: ${name}" for name in extra_args)
    return f"""
query CairnSearchRuns($experimentIds: [String!]!, $first: Int, $after: String,
                      $lifecycleStage: LifecycleStage{decl}) {{
  runs(experimentIds: $experimentIds, first: $first, after: $after,
       lifecycleStage: $lifecycleStage{use}) {{
    nodes {{ {RUN_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
    totalCount
  }}
}}"""


# ---------------------------------------------------------------------- model registry

MODEL_VERSION_FIELDS = """
  id modelName version source runId description tags { key value } stage status aliases
  createdAt updatedAt"""

REGISTERED_MODEL_FIELDS = f"""
  id name description tags {{ key value }} createdAt updatedAt
  aliases {{ alias version }}
  latestVersions {{ {MODEL_VERSION_FIELDS} }}"""

CREATE_REGISTERED_MODEL = f"""
mutation CairnCreateRegisteredModel($name: String!, $description: String,
                                    $tags: [KeyValueInput!]) {{
  createRegisteredModel(name: $name, description: $description, tags: $tags) {{
    {REGISTERED_MODEL_FIELDS}
  }}
}}"""

REGISTERED_MODEL = f"""
query CairnRegisteredModel($name: String!) {{
  registeredModel(name: $name) {{ {REGISTERED_MODEL_FIELDS} }}
}}"""

RENAME_REGISTERED_MODEL = f"""
mutation CairnRenameRegisteredModel($name: String!, $newName: String!) {{
  renameRegisteredModel(name: $name, newName: $newName) {{ {REGISTERED_MODEL_FIELDS} }}
}}"""

UPDATE_REGISTERED_MODEL = f"""
mutation CairnUpdateRegisteredModel($name: String!, $description: String!) {{
  updateRegisteredModel(name: $name, description: $description) {{ {REGISTERED_MODEL_FIELDS} }}
}}"""

DELETE_REGISTERED_MODEL = """
mutation CairnDeleteRegisteredModel($name: String!) { deleteRegisteredModel(name: $name) }"""

SET_REGISTERED_MODEL_TAG = """
mutation CairnSetRegisteredModelTag($name: String!, $key: String!, $value: String!) {
  setRegisteredModelTag(name: $name, key: $key, value: $value) { id }
}"""

DELETE_REGISTERED_MODEL_TAG = """
mutation CairnDeleteRegisteredModelTag($name: String!, $key: String!) {
  deleteRegisteredModelTag(name: $name, key: $key) { id }
}"""

REGISTERED_MODELS = f"""
query CairnRegisteredModels($filter: String, $orderBy: [String!], $first: Int, $after: String) {{
  registeredModels(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
    edges {{ node {{ {REGISTERED_MODEL_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

CREATE_MODEL_VERSION = f"""
mutation CairnCreateModelVersion($name: String!, $source: String!, $runId: String,
    $description: String, $tags: [KeyValueInput!], $createModelIfMissing: Boolean) {{
  createModelVersion(name: $name, source: $source, runId: $runId, description: $description,
                     tags: $tags, createModelIfMissing: $createModelIfMissing) {{
    {MODEL_VERSION_FIELDS}
  }}
}}"""

MODEL_VERSION = f"""
query CairnModelVersion($name: String!, $version: Int!) {{
  modelVersion(name: $name, version: $version) {{ {MODEL_VERSION_FIELDS} }}
}}"""

UPDATE_MODEL_VERSION = f"""
mutation CairnUpdateModelVersion($name: String!, $version: Int!, $description: String!) {{
  updateModelVersion(name: $name, version: $version, description: $description) {{
    {MODEL_VERSION_FIELDS}
  }}
}}"""

DELETE_MODEL_VERSION = """
mutation CairnDeleteModelVersion($name: String!, $version: Int!) {
  deleteModelVersion(name: $name, version: $version)
}"""

SET_MODEL_VERSION_TAG = """
mutation CairnSetModelVersionTag($name: String!, $version: Int!, $key: String!, $value: String!) {
  setModelVersionTag(name: $name, version: $version, key: $key, value: $value) { id }
}"""

DELETE_MODEL_VERSION_TAG = """
mutation CairnDeleteModelVersionTag($name: String!, $version: Int!, $key: String!) {
  deleteModelVersionTag(name: $name, version: $version, key: $key) { id }
}"""

MODEL_VERSIONS = f"""
query CairnModelVersions($filter: String, $orderBy: [String!], $first: Int, $after: String) {{
  modelVersions(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{
    edges {{ node {{ {MODEL_VERSION_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

TRANSITION_MODEL_VERSION_STAGE = f"""
mutation CairnTransitionStage($name: String!, $version: Int!, $stage: ModelStage!,
                              $archive: Boolean) {{
  transitionModelVersionStage(name: $name, version: $version, stage: $stage,
                              archiveExistingVersions: $archive) {{ {MODEL_VERSION_FIELDS} }}
}}"""

SET_MODEL_ALIAS = f"""
mutation CairnSetModelAlias($name: String!, $alias: String!, $version: Int!) {{
  setModelAlias(name: $name, alias: $alias, version: $version) {{ {MODEL_VERSION_FIELDS} }}
}}"""

DELETE_MODEL_ALIAS = """
mutation CairnDeleteModelAlias($name: String!, $alias: String!) {
  deleteModelAlias(name: $name, alias: $alias) { id }
}"""

MODEL_HISTORY = """
query CairnModelHistory($name: String!, $first: Int) {
  registeredModel(name: $name) {
    history(first: $first) {
      at actor kind version fromStage toStage alias previousVersion
    }
  }
}"""

RESOLVE_MODEL_URI = f"""
query CairnResolveModelUri($uri: String!) {{
  resolveModelUri(uri: $uri) {{ {MODEL_VERSION_FIELDS} }}
}}"""
