#' Create an experiment
#'
#' @param name the experiment's name (unique in the workspace).
#' @param tags an optional named list or named character vector of tags.
#' @return The new experiment's id (a string). A name already in use raises a
#'   `cairn_error` with code `ALREADY_EXISTS`.
#' @examples
#' \dontrun{
#' exp <- cairn_create_experiment("churn")
#' }
#' @export
cairn_create_experiment <- function(name, tags = NULL) {
  name <- check_text("experiment name", name)
  vars <- list(name = name)
  if (length(tags) > 0) vars$tags <- kv_input(tags, "tag")
  graphql(Q_CREATE_EXPERIMENT, vars)$createExperiment$id
}

#' Look up an experiment by name
#'
#' @param name the experiment's name.
#' @return A list (`id`, `name`, `artifact_location`, `lifecycle_stage`,
#'   `created_at` in epoch ms, `tags` a named list), or `NULL` when there is no
#'   such experiment.
#' @examples
#' \dontrun{
#' cairn_get_experiment_by_name("churn")$id
#' }
#' @export
cairn_get_experiment_by_name <- function(name) {
  n <- graphql(Q_EXPERIMENT_BY_NAME, list(name = check_text("experiment name", name)))$experimentByName
  if (is.null(n)) return(NULL)
  list(
    id = n$id, name = n$name, artifact_location = n$artifactLocation,
    lifecycle_stage = n$lifecycleStage, created_at = n$createdAt, tags = key_values(n$tags)
  )
}

# [{key, value}] from a named list / named character vector, values checked.
kv_input <- function(x, kind) {
  keys <- names(x)
  if (is.null(keys) || any(keys == "")) invalid_argument(paste0(kind, "s must be named"))
  lapply(seq_along(x), function(i) {
    list(key = check_key(kind, keys[[i]]), value = check_text(paste(kind, keys[[i]], "value"), x[[i]]))
  })
}

# A named list from GraphQL's [{key, value}], sorted by key.
key_values <- function(list_of_kv) {
  if (length(list_of_kv) == 0) return(structure(list(), names = character()))
  keys <- vapply(list_of_kv, function(kv) kv$key, "")
  values <- lapply(list_of_kv, function(kv) kv$value)
  names(values) <- keys
  values[order(keys, method = "radix")]
}
