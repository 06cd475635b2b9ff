#' Start a run
#'
#' Creates a run in an experiment and makes it the active run: later calls
#' without `run_id` log to it, until [cairn_end_run()].
#'
#' @param experiment_id the experiment's id (from [cairn_create_experiment()]).
#' @param run_name an optional name for the run.
#' @param tags an optional named list or named character vector of tags.
#' @param start_time the start time in epoch milliseconds (default: now).
#' @return The run, as [cairn_get_run()] returns it (its id in `$id`).
#' @examples
#' \dontrun{
#' run <- cairn_start_run(experiment_id = exp, run_name = "baseline")
#' run$id
#' }
#' @export
cairn_start_run <- function(experiment_id, run_name = NULL, tags = NULL, start_time = NULL) {
  vars <- list(
    experimentId = check_id("experiment_id", experiment_id),
    startTime = if (is.null(start_time)) now_ms() else start_time
  )
  if (!is.null(run_name)) vars$name <- check_text("run_name", run_name)
  if (length(tags) > 0) vars$tags <- kv_input(tags, "tag")
  run <- decode_run(graphql(Q_CREATE_RUN, vars)$createRun)
  .cairn$active_runs <- c(.cairn$active_runs, run$id)
  run
}

#' The active run's id
#'
#' @return The id of the run started last and not ended yet, or `NULL`.
#' @examples
#' cairn_active_run_id()
#' @export
cairn_active_run_id <- function() {
  n <- length(.cairn$active_runs)
  if (n == 0) NULL else .cairn$active_runs[[n]]
}

resolve_run_id <- function(run_id) {
  if (is.null(run_id)) {
    run_id <- cairn_active_run_id()
    if (is.null(run_id)) {
      cairn_abort("FAILED_PRECONDITION", "no active run: call cairn_start_run() or pass run_id")
    }
    return(run_id)
  }
  check_id("run_id", run_id)
}

#' End a run
#'
#' Sends the run's buffered metric points ([cairn_flush()]), then sets its
#' status and end time. The run stops being the active run.
#'
#' @param status `"FINISHED"` (default), `"FAILED"` or `"KILLED"`.
#' @param run_id the run (default: the active run).
#' @param end_time the end time in epoch milliseconds (default: now).
#' @return The ended run, as [cairn_get_run()] returns it.
#' @examples
#' \dontrun{
#' cairn_end_run()
#' cairn_end_run(status = "FAILED", run_id = run$id)
#' }
#' @export
cairn_end_run <- function(status = c("FINISHED", "FAILED", "KILLED"), run_id = NULL, end_time = NULL) {
  status <- match.arg(status)
  run_id <- resolve_run_id(run_id)
  cairn_flush()
  vars <- list(runId = run_id, status = status, endTime = if (is.null(end_time)) now_ms() else end_time)
  run <- decode_run(graphql(Q_UPDATE_RUN, vars)$updateRun)
  .cairn$active_runs <- .cairn$active_runs[.cairn$active_runs != run_id]
  run
}

#' Log a param
#'
#' Sent at once (params are few; metric points are batched).
#'
#' @param key the param's key (letters, digits, `_`, `-`, `.`, space, `:`, `/`).
#' @param value its value: a string (a number or logical is turned into one).
#' @param run_id the run (default: the active run).
#' @return `value` as sent, invisibly.
#' @examples
#' \dontrun{
#' cairn_log_param("lr", 0.01)
#' }
#' @export
cairn_log_param <- function(key, value, run_id = NULL) {
  check_key("param", key)
  value <- check_text(paste0("param \"", key, "\" value"), value)
  graphql(Q_LOG_PARAM, list(runId = resolve_run_id(run_id), key = key, value = value))
  invisible(value)
}

#' Set a tag on a run
#'
#' Sent at once.
#'
#' @param key the tag's key.
#' @param value its value: a string (a number or logical is turned into one;
#'   a raw vector is taken as UTF-8 bytes).
#' @param run_id the run (default: the active run).
#' @return `value` as sent, invisibly.
#' @examples
#' \dontrun{
#' cairn_set_tag("team", "forecasting")
#' }
#' @export
cairn_set_tag <- function(key, value, run_id = NULL) {
  check_key("tag", key)
  value <- check_text(paste0("tag \"", key, "\" value"), value)
  graphql(Q_SET_TAG, list(runId = resolve_run_id(run_id), key = key, value = value))
  invisible(value)
}

#' Read a run
#'
#' @param run_id the run's id (default: the active run).
#' @return A list of class `cairn_run`: `id`, `name`, `experiment_id`,
#'   `status`, `start_time`, `end_time` (epoch ms or `NULL`),
#'   `lifecycle_stage`, `params` and `tags` (named lists of strings, by key),
#'   `metrics` (a named numeric vector of each metric's latest value) and
#'   `latest_metrics` (a data frame: `key`, `value`, `step`, `timestamp`). A
#'   missing run raises a `cairn_error` with code `NOT_FOUND`.
#' @examples
#' \dontrun{
#' run <- cairn_get_run(run_id)
#' run$params$lr
#' run$metrics[["loss"]]
#' }
#' @export
cairn_get_run <- function(run_id = NULL) {
  run_id <- resolve_run_id(run_id)
  n <- graphql(Q_GET_RUN, list(id = run_id))$run
  if (is.null(n)) cairn_abort("NOT_FOUND", paste0("Run ", run_id, " not found"))
  decode_run(n)
}

#' @export
print.cairn_run <- function(x, ...) {
  cat(sprintf("<cairn_run %s> %s (%s), experiment %s\n", x$id, x$name %||% "", x$status, x$experiment_id))
  if (length(x$params) > 0) cat("  params: ", paste(names(x$params), unlist(x$params), sep = "=", collapse = ", "), "\n", sep = "")
  if (length(x$metrics) > 0) cat("  metrics:", paste(names(x$metrics), format(x$metrics), sep = "=", collapse = ", "), "\n")
  if (length(x$tags) > 0) cat("  tags:   ", paste(names(x$tags), unlist(x$tags), sep = "=", collapse = ", "), "\n")
  invisible(x)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

decode_value <- function(v) {
  if (is.null(v)) return(NaN)
  if (is.numeric(v)) return(as.numeric(v))
  switch(v, "Infinity" = Inf, "-Infinity" = -Inf, NaN)
}

decode_run <- function(n) {
  lm <- n$latestMetrics
  latest <- data.frame(
    key = vapply(lm, function(m) m$key, ""),
    value = vapply(lm, function(m) decode_value(m$value), 0),
    step = vapply(lm, function(m) as.numeric(m$step %||% 0), 0),
    timestamp = vapply(lm, function(m) as.numeric(m$timestamp %||% 0), 0),
    stringsAsFactors = FALSE
  )
  latest <- latest[order(latest$key, method = "radix"), , drop = FALSE]
  rownames(latest) <- NULL
  structure(class = "cairn_run", list(
    id = n$id,
    name = n$name,
    experiment_id = n$experimentId,
    status = n$status,
    start_time = n$startTime,
    end_time = n$endTime,
    lifecycle_stage = n$lifecycleStage,
    params = key_values(n$params),
    tags = key_values(n$tags),
    metrics = stats::setNames(latest$value, latest$key),
    latest_metrics = latest
  ))
}

#' Search runs
#'
#' Runs of the given experiments that match `filter` (Cairn's search grammar,
#' as MLflow's: `"params.opt = 'adam' AND metrics.loss < 0.5"`), in the order of
#' `order_by` (e.g. `"metrics.loss ASC"`), following pages until `max_results`.
#'
#' @param experiment_ids a character vector of experiment ids.
#' @param filter a filter expression (default: none).
#' @param order_by a character vector of order clauses (default: the server's,
#'   newest first).
#' @param max_results the most runs to return (default 1,000).
#' @return A data frame with one row per run: `run_id`, `experiment_id`,
#'   `run_name`, `status`, `start_time`, `end_time` (epoch ms, `NA` while
#'   running), `lifecycle_stage`, then one column per param (`params.<key>`,
#'   character), latest metric value (`metrics.<key>`, numeric) and tag
#'   (`tags.<key>`, character), `NA` where a run has none, as MLflow's R client.
#'   The attribute `next_page_token` holds the cursor of the next page when
#'   more runs match than were returned (else `NULL`).
#' @examples
#' \dontrun{
#' runs <- cairn_search_runs(exp, filter = "metrics.loss < 0.5", order_by = "metrics.loss ASC")
#' runs[, c("run_id", "metrics.loss")]
#' }
#' @export
cairn_search_runs <- function(experiment_ids, filter = NULL, order_by = NULL, max_results = 1000) {
  if (!is.character(experiment_ids) || length(experiment_ids) == 0 || anyNA(experiment_ids)) {
    invalid_argument("experiment_ids must be a non-empty character vector")
  }
  if (!is.null(filter) && !is_string(filter)) invalid_argument("filter must be a string")
  if (!is.null(order_by) && (!is.character(order_by) || anyNA(order_by))) {
    invalid_argument("order_by must be a character vector")
  }
  runs <- list()
  after <- NULL
  token <- NULL
  repeat {
    vars <- list(
      experimentIds = I(experiment_ids),
      first = max(1, min(1000, max_results - length(runs)))
    )
    if (!is.null(after)) vars$after <- after
    if (!is.null(filter) && nzchar(trimws(filter))) vars$filter <- filter
    if (length(order_by) > 0) vars$orderBy <- I(order_by)
    page <- graphql(Q_SEARCH_RUNS, vars)$runs
    runs <- c(runs, lapply(page$nodes, decode_run))
    info <- page$pageInfo
    more <- isTRUE(info$hasNextPage) && !is.null(info$endCursor)
    if (!more) {
      token <- NULL
      break
    }
    after <- info$endCursor
    token <- after
    if (length(runs) >= max_results) break
  }
  out <- runs_data_frame(runs)
  attr(out, "next_page_token") <- token
  out
}

runs_data_frame <- function(runs) {
  chr <- function(f) vapply(runs, function(r) as.character(f(r) %||% NA_character_), "")
  num <- function(f) vapply(runs, function(r) as.numeric(f(r) %||% NA_real_), 0)
  out <- data.frame(
    run_id = chr(function(r) r$id),
    experiment_id = chr(function(r) r$experiment_id),
    run_name = chr(function(r) r$name),
    status = chr(function(r) r$status),
    start_time = num(function(r) r$start_time),
    end_time = num(function(r) r$end_time),
    lifecycle_stage = chr(function(r) r$lifecycle_stage),
    stringsAsFactors = FALSE
  )
  for (field in c("params", "metrics", "tags")) {
    keys <- sort(unique(as.character(unlist(lapply(runs, function(r) names(r[[field]]))))), method = "radix")
    for (key in keys) {
      column <- if (field == "metrics") {
        vapply(runs, function(r) if (key %in% names(r$metrics)) r$metrics[[key]] else NA_real_, 0)
      } else {
        vapply(runs, function(r) r[[field]][[key]] %||% NA_character_, "")
      }
      out[[paste0(field, ".", key)]] <- column
    }
  }
  out
}
