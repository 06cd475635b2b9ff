# The runner of the shared test vectors (sdks/test-vectors/*.json, format in its README): each
# case with fresh package state, its steps in order, `$uniq` / `$<saved>` substituted, `expect`
# a subset match (numbers within a relative 1e-9), `expectError` the cairn_error's `$code`.
#
# R strings cannot hold a NUL: a "\u0000" in a vector string is read as a raw vector of the
# string's UTF-8 bytes with the NUL in place (the package takes raw vectors as text values and
# refuses a NUL before sending, as the server would).

NUL_MARK <- "\uE000"

vectors_dir <- function() {
  file.path(find_repo_root(), "sdks", "test-vectors")
}

read_vectors <- function(file) {
  text <- paste(readLines(file, encoding = "UTF-8", warn = FALSE), collapse = "\n")
  text <- gsub("(?<!\\\\)\\\\u0000", "\\\\uE000", text, perl = TRUE)
  restore_nul(jsonlite::fromJSON(text, simplifyVector = FALSE))
}

restore_nul <- function(x) {
  if (is.list(x)) {
    out <- lapply(x, restore_nul)
    attributes(out) <- attributes(x)
    return(out)
  }
  if (is.character(x) && length(x) == 1 && grepl(NUL_MARK, x, fixed = TRUE)) {
    parts <- strsplit(x, NUL_MARK, fixed = TRUE)[[1]]
    if (endsWith(x, NUL_MARK)) parts <- c(parts, "")
    bytes <- charToRaw(enc2utf8(parts[[1]]))
    for (p in parts[-1]) bytes <- c(bytes, as.raw(0), charToRaw(enc2utf8(p)))
    return(bytes)
  }
  x
}

substitute_vars <- function(x, vars) {
  if (is.list(x)) {
    out <- lapply(x, substitute_vars, vars = vars)
    attributes(out) <- attributes(x)
    return(out)
  }
  if (is.character(x) && length(x) == 1) {
    # Longest name first: "$run" must not be taken for a "$r" prefix.
    for (name in names(vars)[order(-nchar(names(vars)))]) {
      x <- gsub(paste0("$", name), vars[[name]], x, fixed = TRUE)
    }
  }
  x
}

# The op's result in the vectors' (camelCase) shape.
vector_run <- function(r) {
  list(
    id = r$id, experimentId = r$experiment_id, name = r$name, status = r$status,
    params = r$params, tags = r$tags, latestMetrics = as.list(r$metrics)
  )
}

vector_model_version <- function(v) {
  list(
    modelName = v$model_name, version = v$version, runId = v$run_id, source = v$source,
    aliases = as.list(v$aliases)
  )
}

vector_runs_from_df <- function(df) {
  cols <- names(df)
  lapply(seq_len(nrow(df)), function(i) {
    pick <- function(prefix) {
      keys <- cols[startsWith(cols, prefix)]
      values <- lapply(keys, function(k) df[[k]][[i]])
      names(values) <- substring(keys, nchar(prefix) + 1)
      values[!vapply(values, is.na, TRUE)]
    }
    list(
      id = df$run_id[[i]], experimentId = df$experiment_id[[i]], name = df$run_name[[i]],
      status = df$status[[i]], params = pick("params."), tags = pick("tags."),
      latestMetrics = pick("metrics.")
    )
  })
}

run_op <- function(op, a) {
  switch(op,
    createExperiment = list(id = cairn_create_experiment(a$name), name = a$name),
    createRun = vector_run(cairn_start_run(experiment_id = a$experimentId, run_name = a$name, tags = a$tags)),
    logParam = cairn_log_param(a$key, a$value, run_id = a$runId),
    logMetric = cairn_log_metric(a$key, a$value, step = a$step, timestamp = a$timestamp, run_id = a$runId),
    setTag = cairn_set_tag(a$key, a$value, run_id = a$runId),
    flush = cairn_flush(),
    getRun = vector_run(cairn_get_run(a$runId)),
    getMetricHistory = {
      h <- cairn_get_metric_history(a$key, run_id = a$runId)
      lapply(seq_len(nrow(h)), function(i) list(step = h$step[[i]], value = h$value[[i]], timestamp = h$timestamp[[i]]))
    },
    searchRuns = {
      df <- cairn_search_runs(unlist(a$experimentIds), filter = a$filter, order_by = unlist(a$orderBy),
                              max_results = a$maxResults %||% 1000)
      list(runs = vector_runs_from_df(df), nextPageToken = attr(df, "next_page_token"))
    },
    logArtifact = {
      dir <- tempfile("cairn-vector-")
      dir.create(dir)
      on.exit(unlink(dir, recursive = TRUE))
      file <- file.path(dir, basename(a$path))
      writeBin(charToRaw(enc2utf8(a$content)), file)
      cairn_log_artifact(file, artifact_path = a$path, run_id = a$runId)
    },
    createRegisteredModel = cairn_create_registered_model(a$name),
    createModelVersion = vector_model_version(cairn_create_model_version(a$name, a$source, run_id = a$runId)),
    getModelVersion = vector_model_version(cairn_get_model_version(a$name, a$version)),
    setModelAlias = vector_model_version(cairn_set_model_alias(a$name, a$alias, a$version)),
    resolveModelUri = vector_model_version(cairn_resolve_model_uri(a$uri)),
    createPromptVersion = cairn_create_prompt_version(a$name, a$template,
                                                      create_prompt_if_missing = isTRUE(a$createPromptIfMissing)),
    loadPrompt = cairn_load_prompt(a$nameOrUri),
    stop("the R runner does not know op ", op)
  )
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# NULL when `actual` matches `expected` (subset match), else what differs.
mismatch <- function(expected, actual, path = "") {
  here <- if (path == "") "(result)" else path
  if (is.list(expected) && !is.null(names(expected))) {
    if (!(is.list(actual) || is.atomic(actual)) || (length(expected) > 0 && is.null(names(actual)))) {
      return(sprintf("%s: expected an object, got %s", here, format_arg_test(actual)))
    }
    for (key in names(expected)) {
      if (!(key %in% names(actual))) return(sprintf("%s.%s: missing", here, key))
      m <- mismatch(expected[[key]], actual[[key]], paste0(path, if (path == "") "" else ".", key))
      if (!is.null(m)) return(m)
    }
    return(NULL)
  }
  if (is.list(expected)) {
    actual <- as.list(actual)
    if (length(actual) != length(expected)) {
      return(sprintf("%s: expected %d element(s), got %d: %s", here, length(expected), length(actual),
                     format_arg_test(actual)))
    }
    for (i in seq_along(expected)) {
      m <- mismatch(expected[[i]], actual[[i]], sprintf("%s[%d]", path, i - 1))
      if (!is.null(m)) return(m)
    }
    return(NULL)
  }
  if (is.null(expected)) {
    return(if (is.null(actual)) NULL else sprintf("%s: expected null, got %s", here, format_arg_test(actual)))
  }
  if (is.numeric(expected)) {
    ok <- is.numeric(actual) && length(actual) == 1 &&
      (isTRUE(actual == expected) || abs(actual - expected) <= 1e-9 * max(abs(expected), abs(actual)))
    return(if (ok) NULL else sprintf("%s: expected %s, got %s", here, format(expected, digits = 17),
                                     format_arg_test(actual)))
  }
  if (identical(expected, actual)) NULL else sprintf("%s: expected %s, got %s", here,
                                                     format_arg_test(expected), format_arg_test(actual))
}

format_arg_test <- function(x) {
  paste(utils::capture.output(dput(x)), collapse = " ")
}

# NULL when every step passes, else the first failing step and why.
run_case <- function(case, uniq) {
  # A fresh client: no buffered points, no active run left over from another case.
  cairn:::state_init()
  cairn_set_tracking_uri(cairn_test_server$url)
  vars <- list(uniq = uniq)
  for (i in seq_along(case$steps)) {
    step <- case$steps[[i]]
    args <- substitute_vars(step$args %||% list(), vars)
    label <- sprintf("step %d (%s)", i, step$op)
    outcome <- tryCatch(list(value = run_op(step$op, args)),
                        cairn_error = function(e) list(error = e),
                        error = function(e) list(r_error = e))
    if (!is.null(outcome$r_error)) {
      return(paste0(label, ": R error: ", conditionMessage(outcome$r_error)))
    }
    if (!is.null(step$expectError)) {
      if (is.null(outcome$error)) return(paste0(label, ": expected ", step$expectError, ", got no error"))
      if (!identical(outcome$error$code, step$expectError)) {
        return(paste0(label, ": expected ", step$expectError, ", got ", conditionMessage(outcome$error)))
      }
      next
    }
    if (!is.null(outcome$error)) return(paste0(label, ": ", conditionMessage(outcome$error)))
    if (!is.null(step$save)) vars[[step$save]] <- outcome$value$id
    if (!is.null(step$expect)) {
      m <- mismatch(substitute_vars(step$expect, vars), outcome$value)
      if (!is.null(m)) return(paste0(label, ": ", m))
    }
  }
  NULL
}
