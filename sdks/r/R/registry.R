#' Create a registered model
#'
#' @param name the model's name (unique in the workspace).
#' @param description an optional description.
#' @return The registered model: a list with `name`, `description`, `tags`,
#'   `aliases` (a named integer vector: alias to version), `latest_versions`
#'   and `created_at`. A name in use raises `ALREADY_EXISTS`.
#' @examples
#' \dontrun{
#' cairn_create_registered_model("churn-model")
#' }
#' @export
cairn_create_registered_model <- function(name, description = NULL) {
  vars <- list(name = check_text("model name", name))
  if (!is.null(description)) vars$description <- check_text("description", description)
  decode_registered_model(graphql(Q_CREATE_REGISTERED_MODEL, vars)$createRegisteredModel)
}

#' Read a registered model
#'
#' @param name the model's name.
#' @return The registered model (as [cairn_create_registered_model()]); a
#'   missing one raises `NOT_FOUND`.
#' @examples
#' \dontrun{
#' cairn_get_registered_model("churn-model")$aliases
#' }
#' @export
cairn_get_registered_model <- function(name) {
  name <- check_text("model name", name)
  n <- graphql(Q_REGISTERED_MODEL, list(name = name))$registeredModel
  if (is.null(n)) cairn_abort("NOT_FOUND", paste0("Registered model '", name, "' not found"))
  decode_registered_model(n)
}

#' Create a model version
#'
#' Registers a new version of a model from a run's artifacts. The source must
#' be an artifact directory of a run in the same workspace, `runs:/<run>/<path>`
#' (the server refuses other sources).
#'
#' @param name the registered model's name.
#' @param source the version's source, e.g. `"runs:/<run_id>/model"`.
#' @param run_id the run it came from (optional).
#' @param description an optional description.
#' @return The model version: a list with `model_name`, `version` (integer),
#'   `source`, `run_id`, `description`, `stage`, `status`, `aliases`
#'   (character), `tags` and `created_at`.
#' @examples
#' \dontrun{
#' cairn_create_model_version("churn-model", paste0("runs:/", run$id, "/model"), run_id = run$id)
#' }
#' @export
cairn_create_model_version <- function(name, source, run_id = NULL, description = NULL) {
  vars <- list(name = check_text("model name", name), source = check_text("source", source))
  if (!is.null(run_id)) vars$runId <- check_id("run_id", run_id)
  if (!is.null(description)) vars$description <- check_text("description", description)
  decode_model_version(graphql(Q_CREATE_MODEL_VERSION, vars)$createModelVersion)
}

#' Point an alias at a model version
#'
#' Sets (or moves) `alias` of the model to `version`.
#'
#' @param name the registered model's name.
#' @param alias the alias, e.g. `"champion"`.
#' @param version the version number.
#' @return The model version the alias now points at.
#' @examples
#' \dontrun{
#' cairn_set_model_alias("churn-model", "champion", 2)
#' }
#' @export
cairn_set_model_alias <- function(name, alias, version) {
  vars <- list(name = check_text("model name", name), alias = check_text("alias", alias),
               version = check_version(version))
  decode_model_version(graphql(Q_SET_MODEL_ALIAS, vars)$setModelAlias)
}

#' The model version an alias points at
#'
#' @param name the registered model's name.
#' @param alias the alias.
#' @return The model version (as [cairn_create_model_version()]); an unknown
#'   model or alias raises `NOT_FOUND`.
#' @examples
#' \dontrun{
#' cairn_get_model_version_by_alias("churn-model", "champion")$version
#' }
#' @export
cairn_get_model_version_by_alias <- function(name, alias) {
  cairn_resolve_model_uri(paste0("models:/", check_text("model name", name), "@", check_text("alias", alias)))
}

#' Read a model version
#'
#' @param name the registered model's name.
#' @param version the version number.
#' @return The model version (as [cairn_create_model_version()]); a missing
#'   one raises `NOT_FOUND`.
#' @examples
#' \dontrun{
#' cairn_get_model_version("churn-model", 1)$source
#' }
#' @export
cairn_get_model_version <- function(name, version) {
  cairn_resolve_model_uri(paste0("models:/", check_text("model name", name), "/", check_version(version)))
}

#' Resolve a `models:/` URI
#'
#' @param uri `models:/<name>@<alias>`, `models:/<name>/<version>` or
#'   `models:/<name>@latest`.
#' @return The model version it names (as [cairn_create_model_version()]).
#' @examples
#' \dontrun{
#' cairn_resolve_model_uri("models:/churn-model/1")
#' }
#' @export
cairn_resolve_model_uri <- function(uri) {
  decode_model_version(graphql(Q_RESOLVE_MODEL_URI, list(uri = check_text("uri", uri)))$resolveModelUri)
}

check_version <- function(version) {
  if (!is.numeric(version) || length(version) != 1 || is.na(version) || version != floor(version) ||
      version < 1 || version > .Machine$integer.max) {
    invalid_argument(paste0("version must be a positive whole number, got ", format_arg(version)))
  }
  as.integer(version)
}

decode_model_version <- function(n) {
  list(
    id = n$id,
    model_name = n$modelName,
    version = as.integer(n$version),
    source = n$source,
    run_id = n$runId,
    description = n$description,
    stage = n$stage,
    status = n$status,
    aliases = as.character(unlist(n$aliases)),
    tags = key_values(n$tags),
    created_at = n$createdAt
  )
}

decode_registered_model <- function(n) {
  aliases <- vapply(n$aliases, function(a) as.integer(a$version), 0L)
  names(aliases) <- vapply(n$aliases, function(a) a$alias, "")
  list(
    id = n$id,
    name = n$name,
    description = n$description,
    tags = key_values(n$tags),
    aliases = aliases,
    latest_versions = lapply(n$latestVersions, decode_model_version),
    created_at = n$createdAt
  )
}
