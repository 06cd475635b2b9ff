# The metric buffer: points are appended to preallocated vectors (batch_size long) and sent with
# one logBatch request per run when the buffer is full, on cairn_flush() and on cairn_end_run().
# R has one thread, so sending happens on the caller's call that fills the buffer; a batch the
# server refuses raises there (its points are not kept, so the next call does not fail again).
#
# A full buffer is sent in bulk mode (sync: false: durable when the server answers, queryable
# shortly after); cairn_flush() sends with sync: true (and, for runs last sent in bulk, an empty
# sync batch), so everything logged before it is queryable when it returns.

buffer_reset <- function() {
  .cairn$buffer <- new_buffer(.cairn$batch_size %||% 10000L)
  invisible()
}

# The buffer's vectors live in a closure and are updated with `<<-`, which R does in place; an
# `.cairn$value[i] <- v` would copy the whole vector on every point.
new_buffer <- function(size) {
  run_id <- character(size)
  key <- character(size)
  value <- numeric(size)
  step <- numeric(size)
  timestamp <- numeric(size)
  n <- 0L
  list(
    count = function() n,
    # One point; TRUE when the buffer is full.
    add1 = function(r, k, v, s, t) {
      n <<- n + 1L
      run_id[n] <<- r
      key[n] <<- k
      value[n] <<- v
      step[n] <<- s
      timestamp[n] <<- t
      n >= size
    },
    # Up to `size - count()` points (vectors of one length); the number taken.
    add = function(r, k, v, s, t) {
      take <- min(size - n, length(v))
      if (take == 0) return(0L)
      to <- n + seq_len(take)
      idx <- seq_len(take)
      run_id[to] <<- r[idx]
      key[to] <<- k[idx]
      value[to] <<- v[idx]
      step[to] <<- s[idx]
      timestamp[to] <<- t[idx]
      n <<- n + take
      take
    },
    # Everything buffered, as a data frame; the buffer is empty afterwards.
    take = function() {
      i <- seq_len(n)
      out <- data.frame(run_id = run_id[i], key = key[i], value = value[i], step = step[i],
                        timestamp = timestamp[i], stringsAsFactors = FALSE)
      n <<- 0L
      out
    }
  )
}

#' Log a metric point (buffered)
#'
#' Appends the point to the package's buffer and returns; the buffer is sent
#' in batches (one `logBatch` request per run) when `batch_size` points are
#' buffered, on [cairn_flush()] and on [cairn_end_run()]. Vectors of equal
#' length (or length 1) log several points of one key at once.
#'
#' @param key the metric's key.
#' @param value the value (numeric; `NaN`, `Inf` and `-Inf` are kept).
#' @param step the step (an integer, default 0).
#' @param timestamp the time in epoch milliseconds (default: now).
#' @param run_id the run (default: the active run).
#' @return `value`, invisibly.
#' @examples
#' \dontrun{
#' for (step in 1:100) cairn_log_metric("loss", 1 / step, step = step)
#' cairn_flush()
#' }
#' @export
cairn_log_metric <- function(key, value, step = NULL, timestamp = NULL, run_id = NULL) {
  check_key("metric", key)
  run_id <- resolve_run_id(run_id)
  if (!is.numeric(value) || length(value) == 0) {
    invalid_argument(paste0("metric \"", key, "\" value must be numeric, got ", format_arg(value)))
  }
  n <- length(value)
  if (is.null(step)) step <- 0
  if (is.null(timestamp)) timestamp <- now_ms()
  check_integers("step", step, n)
  check_integers("timestamp", timestamp, n)
  if (n == 1 && length(step) == 1 && length(timestamp) == 1) {
    buffer_add1(run_id, key, value, step, timestamp)
  } else {
    buffer_add(run_id, key, value, rep_len(step, n), rep_len(timestamp, n))
  }
  invisible(value)
}

#' Log many metric points at once (buffered)
#'
#' The bulk form of [cairn_log_metric()]: a data frame (or a list of vectors)
#' with columns `key`, `value` and optionally `step`, `timestamp` and `run_id`.
#'
#' @param data a data frame with columns `key` (character), `value`
#'   (numeric), optional `step` (default 0), `timestamp` (epoch ms, default
#'   now) and `run_id` (default: the `run_id` argument).
#' @param run_id the run for rows without a `run_id` column (default: the
#'   active run).
#' @return The number of points buffered, invisibly.
#' @examples
#' \dontrun{
#' cairn_log_metrics(data.frame(key = "loss", value = 1 / (1:1000), step = 1:1000))
#' }
#' @export
cairn_log_metrics <- function(data, run_id = NULL) {
  if (!is.list(data) || is.null(data$key) || is.null(data$value)) {
    invalid_argument("data must be a data frame (or list) with columns key and value")
  }
  n <- length(data$value)
  if (n == 0) return(invisible(0L))
  if (!is.numeric(data$value)) invalid_argument("data$value must be numeric")
  keys <- rep_len(as.character(data$key), n)
  for (k in unique(keys)) check_key("metric", k)
  runs <- if (!is.null(data$run_id)) rep_len(as.character(data$run_id), n) else rep_len(resolve_run_id(run_id), n)
  for (r in unique(runs)) check_id("run_id", r)
  step <- if (is.null(data$step)) 0 else data$step
  timestamp <- if (is.null(data$timestamp)) now_ms() else data$timestamp
  check_integers("step", step, n)
  check_integers("timestamp", timestamp, n)
  buffer_add(runs, keys, as.numeric(data$value), rep_len(as.numeric(step), n), rep_len(as.numeric(timestamp), n))
  invisible(n)
}

check_integers <- function(what, x, n) {
  if (!is.numeric(x) || !(length(x) == 1 || length(x) == n) || anyNA(x) ||
      any(abs(x) > 9007199254740991) || any(x != floor(x))) {
    invalid_argument(paste0(what, " must be whole numbers within +-(2^53-1), of length 1 or ", n))
  }
}

buffer_add1 <- function(run_id, key, value, step, timestamp) {
  if (.cairn$buffer$add1(run_id, key, value, step, timestamp)) send_buffer(sync = FALSE)
  invisible()
}

buffer_add <- function(run_id, key, value, step, timestamp) {
  total <- length(value)
  run_id <- rep_len(run_id, total)
  key <- rep_len(key, total)
  start <- 1L
  while (start <= total) {
    idx <- start:total
    taken <- .cairn$buffer$add(run_id[idx], key[idx], value[idx], step[idx], timestamp[idx])
    start <- start + taken
    if (.cairn$buffer$count() >= .cairn$batch_size) send_buffer(sync = FALSE)
  }
  invisible()
}

#' Send the buffered metric points
#'
#' Sends every buffered point and waits until the server has them in its read
#' model: after `cairn_flush()` returns, [cairn_get_run()],
#' [cairn_get_metric_history()] and [cairn_search_runs()] see them. A batch the
#' server refuses raises a `cairn_error` (its points are dropped).
#'
#' @return The number of points sent, invisibly.
#' @examples
#' \dontrun{
#' cairn_flush()
#' }
#' @export
cairn_flush <- function() {
  n <- .cairn$buffer$count()
  send_buffer(sync = TRUE)
  # Runs last sent in bulk mode: wait for their read model too.
  for (run_id in .cairn$unsynced) send_chunk(run_id, NULL, sync = TRUE)
  invisible(n)
}

send_buffer <- function(sync) {
  if (.cairn$buffer$count() == 0) return(invisible())
  points <- .cairn$buffer$take()
  first_error <- NULL
  lost <- 0L
  for (run_id in unique(points$run_id)) {
    rows <- points[points$run_id == run_id, c("key", "value", "step", "timestamp"), drop = FALSE]
    err <- tryCatch({
      send_chunk(run_id, rows, sync = sync)
      NULL
    }, cairn_error = function(e) e)
    if (!is.null(err)) {
      lost <- lost + nrow(rows)
      if (is.null(first_error)) first_error <- err
    }
  }
  if (!is.null(first_error)) {
    cairn_abort(first_error$code,
                sprintf("sending buffered metrics failed; %d metric point(s) were not stored: %s",
                        lost, first_error$message),
                first_error$http_status, first_error$details)
  }
  invisible()
}

# One logBatch request (the metrics JSON built in one jsonlite call), with a fresh idempotency
# key that every retry of it reuses.
send_chunk <- function(run_id, rows, sync) {
  .cairn$unsynced <- if (sync) setdiff(.cairn$unsynced, run_id) else union(.cairn$unsynced, run_id)
  metrics <- if (is.null(rows) || nrow(rows) == 0) "[]" else metrics_json(rows)
  vars <- paste0('{"runId":', to_json(run_id), ',"metrics":', metrics,
                 ',"sync":', if (sync) "true" else "false",
                 ',"idempotencyKey":', to_json(idempotency_key()), "}")
  graphql(Q_LOG_BATCH, structure(vars, class = "json"))
  invisible()
}

# The metrics array as JSON text, built vectorised. Values are written with the fewest digits
# that read back as the same double (jsonlite stops at 15 significant digits); JSON has no
# NaN/Infinity, so the MetricValue scalar takes them (and NA, sent as NaN) as strings.
metrics_json <- function(rows) {
  keys <- unique(rows$key)
  key_json <- vapply(keys, function(k) as.character(jsonlite::toJSON(k, auto_unbox = TRUE)), "")
  paste0("[", paste0(
    '{"key":', key_json[match(rows$key, keys)],
    ',"value":', format_doubles(rows$value),
    ',"step":', sprintf("%.0f", rows$step),
    ',"timestamp":', sprintf("%.0f", rows$timestamp), "}",
    collapse = ","
  ), "]")
}

format_doubles <- function(v) {
  out <- sprintf("%.15g", v)
  finite <- is.finite(v)
  redo <- finite & suppressWarnings(as.numeric(out)) != v
  redo[is.na(redo)] <- FALSE
  out[redo] <- sprintf("%.17g", v[redo])
  out[is.na(v)] <- '"NaN"'
  out[!is.na(v) & v == Inf] <- '"Infinity"'
  out[!is.na(v) & v == -Inf] <- '"-Infinity"'
  out
}

# From openssl's generator, not R's: logging must not move the caller's .Random.seed.
idempotency_key <- function() {
  paste(as.character(openssl::rand_bytes(16)), collapse = "")
}

#' A metric's history
#'
#' Every point of one metric of a run, by step (long histories are read in
#' step ranges, so the server's downsampling never thins them).
#'
#' @param key the metric's key.
#' @param run_id the run (default: the active run).
#' @return A data frame with columns `step`, `value`, `timestamp`.
#' @examples
#' \dontrun{
#' history <- cairn_get_metric_history("loss", run_id = run$id)
#' plot(history$step, history$value, type = "l")
#' }
#' @export
cairn_get_metric_history <- function(key, run_id = NULL) {
  check_key("metric", key)
  run_id <- resolve_run_id(run_id)
  full_history(run_id, key, NULL, NULL)
}

MAX_HISTORY_POINTS <- 100000L

history_page <- function(run_id, key, start, end) {
  vars <- list(id = run_id, key = key, maxPoints = MAX_HISTORY_POINTS)
  if (!is.null(start)) vars$startStep <- start
  if (!is.null(end)) vars$endStep <- end
  run <- graphql(Q_METRIC_HISTORY, vars)$run
  if (is.null(run)) cairn_abort("NOT_FOUND", paste0("Run ", run_id, " not found"))
  h <- run$metricHistory
  data.frame(
    step = vapply(h, function(p) as.numeric(p$step), 0),
    value = vapply(h, function(p) decode_value(p$value), 0),
    timestamp = vapply(h, function(p) as.numeric(p$timestamp), 0)
  )
}

# The server downsamples above maxPoints; only an answer under half the limit is provably
# complete. Longer ones are re-read in two step ranges (recursively).
full_history <- function(run_id, key, start, end) {
  points <- history_page(run_id, key, start, end)
  if (nrow(points) < (MAX_HISTORY_POINTS - 2) %/% 2) return(points)
  lo <- points$step[[1]]
  hi <- points$step[[nrow(points)]]
  if (lo >= hi) return(points)
  mid <- points$step[[nrow(points) %/% 2]]
  if (mid >= hi) mid <- lo + (hi - lo) %/% 2
  rbind(full_history(run_id, key, lo, mid), full_history(run_id, key, mid + 1, hi))
}
