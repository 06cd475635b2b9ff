# The package's state: where the server is, the active runs and the metric buffer. One
# environment per R session (R has one thread; nothing here is shared across processes).
.cairn <- new.env(parent = emptyenv())

env_or <- function(name, fallback = NULL) {
  v <- Sys.getenv(name, "")
  if (identical(v, "")) fallback else v
}

state_init <- function() {
  .cairn$tracking_uri <- sub("/+$", "", env_or("CAIRN_TRACKING_URI", "http://127.0.0.1:4680"))
  .cairn$api_key <- env_or("CAIRN_API_KEY")
  .cairn$workspace <- env_or("CAIRN_WORKSPACE")
  .cairn$request_timeout <- 60
  .cairn$retry_timeout <- 120
  .cairn$backoff_initial <- 0.25
  .cairn$backoff_max <- 10
  .cairn$batch_size <- 10000L
  .cairn$active_runs <- character()
  buffer_reset()
  .cairn$unsynced <- character()
  invisible()
}

#' Point the package at a Cairn server
#'
#' Sets the server every later call talks to, and optionally the API key and
#' the workspace. Without a call, the server is `CAIRN_TRACKING_URI` (default
#' `http://127.0.0.1:4680`), the key `CAIRN_API_KEY` and the workspace
#' `CAIRN_WORKSPACE`. Metric points still buffered for the previous server are
#' sent first.
#'
#' @param uri the server's base URL, `http://` or `https://` (e.g.
#'   `"http://127.0.0.1:4680"`).
#' @param api_key an API key, sent as `Authorization: Bearer <key>`; `NULL`
#'   keeps the current one (from `CAIRN_API_KEY` unless set here), `""`
#'   removes it.
#' @param workspace a workspace id, sent as `x-cairn-workspace`; `NULL` keeps
#'   the current one, `""` removes it (the key's or server's default workspace
#'   is used).
#' @param retry_timeout seconds during which a call is retried while the server
#'   is unavailable (network errors, HTTP 429/5xx, `UNAVAILABLE`); `NULL` keeps
#'   the current value (default 120).
#' @param batch_size metric points per `logBatch` request (1 to 50,000;
#'   default 10,000); `NULL` keeps the current value.
#' @return The URI, invisibly.
#' @examples
#' \dontrun{
#' cairn_set_tracking_uri("http://127.0.0.1:4680")
#' }
#' @export
cairn_set_tracking_uri <- function(uri, api_key = NULL, workspace = NULL, retry_timeout = NULL,
                                   batch_size = NULL) {
  if (!is_string(uri) || !grepl("^https?://", uri)) {
    invalid_argument(paste0("the tracking URI must be an http:// or https:// URL, got ", format_arg(uri)))
  }
  if (!is.null(batch_size) &&
      (!is.numeric(batch_size) || length(batch_size) != 1 || is.na(batch_size) ||
       batch_size < 1 || batch_size > MAX_METRICS_PER_REQUEST)) {
    invalid_argument(paste0("batch_size must be between 1 and ", MAX_METRICS_PER_REQUEST))
  }
  if (!is.null(retry_timeout) && (!is.numeric(retry_timeout) || length(retry_timeout) != 1 ||
                                  is.na(retry_timeout) || retry_timeout < 0)) {
    invalid_argument("retry_timeout must be a number of seconds >= 0")
  }
  if (.cairn$buffer$count() > 0 || length(.cairn$unsynced) > 0) cairn_flush()
  .cairn$tracking_uri <- sub("/+$", "", uri)
  if (!is.null(api_key)) .cairn$api_key <- if (identical(api_key, "")) NULL else api_key
  if (!is.null(workspace)) .cairn$workspace <- if (identical(workspace, "")) NULL else workspace
  if (!is.null(retry_timeout)) .cairn$retry_timeout <- retry_timeout
  if (!is.null(batch_size)) {
    .cairn$batch_size <- as.integer(batch_size)
    buffer_reset()
  }
  invisible(.cairn$tracking_uri)
}

#' The server the package talks to
#'
#' @return The tracking URI (a string).
#' @examples
#' cairn_get_tracking_uri()
#' @export
cairn_get_tracking_uri <- function() {
  .cairn$tracking_uri
}

.onLoad <- function(libname, pkgname) {
  state_init()
  # Points still buffered when R exits are sent (errors are reported as warnings).
  reg.finalizer(.cairn, function(e) {
    if (!is.null(e$buffer) && (e$buffer$count() > 0 || length(e$unsynced) > 0)) {
      tryCatch(cairn_flush(), error = function(err) {
        warning("cairn: buffered metric points were not sent at exit: ", conditionMessage(err))
      })
    }
  }, onexit = TRUE)
  invisible()
}
