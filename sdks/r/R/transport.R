# GraphQL (and the artifact routes) over httr2, with retries.
#
# Retried with jittered exponential backoff until the retry window has passed: network errors,
# HTTP 408/425/429/500/502/503/504 (a Retry-After is honoured), and the GraphQL codes
# UNAVAILABLE, RESOURCE_EXHAUSTED and CONFLICT; a masked INTERNAL error is tried three times at
# most (it may be a bug, not an outage). Everything else is raised at once as a cairn_error.

RETRYABLE_CODES <- c("UNAVAILABLE", "RESOURCE_EXHAUSTED", "CONFLICT")
RETRYABLE_HTTP <- c(408L, 425L, 429L, 500L, 502L, 503L, 504L)
MAX_INTERNAL_ATTEMPTS <- 3L

sdk_version <- function() {
  as.character(utils::packageVersion("cairn"))
}

# A request to `path` on the server with the SDK's headers (key, workspace, user agent).
base_request <- function(path) {
  req <- httr2::request(paste0(.cairn$tracking_uri, path))
  req <- httr2::req_user_agent(req, paste0("cairn-r/", sdk_version()))
  req <- httr2::req_timeout(req, .cairn$request_timeout)
  headers <- list()
  if (!is.null(.cairn$api_key)) headers$Authorization <- paste("Bearer", .cairn$api_key)
  if (!is.null(.cairn$workspace)) headers[["x-cairn-workspace"]] <- .cairn$workspace
  if (length(headers) > 0) req <- do.call(httr2::req_headers, c(list(req), headers))
  # Retries are done here (with_retries), not by httr2: one try, and no pause after a network
  # error (httr2 0.2.2 otherwise sleeps its default backoff, 2 s, even with one try).
  req <- httr2::req_retry(req, max_tries = 1, is_transient = function(resp) FALSE, backoff = function(i) 0)
  # Answers are judged here, not by httr2 (which would raise on 4xx/5xx).
  httr2::req_error(req, is_error = function(resp) FALSE)
}

# A JSON text for GraphQL variables: scalars unboxed, full precision, NULL as null.
to_json <- function(x) {
  jsonlite::toJSON(x, auto_unbox = TRUE, digits = NA, null = "null", na = "null")
}

retry_signal <- function(reason, error = NULL, retry_after = 0) {
  structure(class = c("cairn_retry", "condition"),
            list(message = reason, call = NULL, error = error, retry_after = retry_after))
}

retry_after_seconds <- function(resp) {
  v <- httr2::resp_header(resp, "retry-after")
  if (is.null(v)) return(0)
  n <- suppressWarnings(as.numeric(trimws(v)))
  if (is.na(n) || n < 0) 0 else n
}

# Runs `attempt()` until it returns, raises a non-retryable error or the window ends. `attempt`
# signals a cairn_retry condition (with `signalCondition` + return) to ask for another try.
with_retries <- function(what, attempt, window = .cairn$retry_timeout) {
  started <- Sys.time()
  delay <- max(0.001, .cairn$backoff_initial)
  attempts <- 0L
  internal <- 0L
  repeat {
    attempts <- attempts + 1L
    outcome <- tryCatch(list(ok = TRUE, value = attempt()), cairn_retry = function(r) list(ok = FALSE, retry = r))
    if (isTRUE(outcome$ok)) return(outcome$value)
    failure <- outcome$retry
    if (!is.null(failure$error) && identical(failure$error$code, "INTERNAL")) {
      internal <- internal + 1L
      if (internal >= MAX_INTERNAL_ATTEMPTS) stop(failure$error)
    }
    elapsed <- as.numeric(difftime(Sys.time(), started, units = "secs"))
    if (elapsed >= window) {
      if (!is.null(failure$error) && !identical(failure$error$code, "UNAVAILABLE")) stop(failure$error)
      cairn_abort("UNAVAILABLE", sprintf("%s did not succeed after %d attempt(s) over %.0f s: %s",
                                         what, attempts, elapsed, failure$message),
                  details = list(attempts = attempts))
    }
    pause <- min(delay, .cairn$backoff_max) * (0.75 + 0.5 * openssl::rand_num(1))
    if (failure$retry_after > 0) pause <- max(pause, failure$retry_after)
    Sys.sleep(max(0.001, min(pause, window - elapsed)))
    delay <- min(delay * 2, .cairn$backoff_max)
  }
}

# Performs `req` once; a network failure becomes a retry signal.
perform_once <- function(req, what) {
  tryCatch(
    httr2::req_perform(req),
    error = function(e) {
      stop(retry_signal(paste0(what, ": ", conditionMessage(e))))
    }
  )
}

#' Run a GraphQL operation against the server
#'
#' The escape hatch for what the package has no function for: sends `query`
#' with `variables` to `POST /graphql` (with the key, workspace and retries of
#' every other call) and returns the `data` object as a list.
#'
#' @param query a GraphQL document.
#' @param variables a named list of variables (`NULL` for none).
#' @return The answer's `data`, parsed with [jsonlite::fromJSON()] (`simplifyVector = FALSE`).
#' @examples
#' \dontrun{
#' cairn_graphql("query { __typename }")
#' }
#' @export
cairn_graphql <- function(query, variables = NULL) {
  graphql(query, variables)
}

graphql <- function(query, variables = NULL, window = .cairn$retry_timeout) {
  body <- paste0('{"query":', to_json(query), ',"variables":',
                 if (inherits(variables, "json")) variables
                 else if (length(variables) == 0) "{}" else to_json(variables), "}")
  endpoint <- paste0(.cairn$tracking_uri, "/graphql")
  req <- base_request("/graphql")
  req <- httr2::req_headers(req, Accept = "application/json")
  req <- httr2::req_body_raw(req, body, type = "application/json")
  with_retries(paste("POST", endpoint), window = window, attempt = function() {
    resp <- perform_once(req, paste("POST", endpoint))
    decode_graphql(resp, endpoint)
  })
}

parse_json_body <- function(resp) {
  raw <- httr2::resp_body_raw(resp)
  if (length(raw) == 0) return(NULL)
  tryCatch(jsonlite::fromJSON(rawToChar(raw), simplifyVector = FALSE), error = function(e) NULL)
}

body_text <- function(resp) {
  raw <- tryCatch(httr2::resp_body_raw(resp), error = function(e) raw())
  text <- tryCatch(rawToChar(raw), error = function(e) "")
  if (nchar(text) > 300) paste0(substr(text, 1, 300), "...") else text
}

decode_graphql <- function(resp, endpoint) {
  status <- httr2::resp_status(resp)
  payload <- parse_json_body(resp)
  if (is.list(payload) && length(payload$errors) > 0) {
    error <- graphql_error(payload$errors, status)
    if (error$code %in% RETRYABLE_CODES || identical(error$code, "INTERNAL")) {
      stop(retry_signal(paste0(error$code, ": ", error$message), error, retry_after_seconds(resp)))
    }
    stop(error)
  }
  if (status %in% RETRYABLE_HTTP) {
    stop(retry_signal(paste0("HTTP ", status, " from ", endpoint), NULL, retry_after_seconds(resp)))
  }
  if (status >= 400 || !is.list(payload) || !("data" %in% names(payload))) {
    code <- switch(as.character(status), "401" = "UNAUTHENTICATED", "403" = "PERMISSION_DENIED",
                   "404" = "NOT_FOUND", "413" = "PAYLOAD_TOO_LARGE", "BAD_RESPONSE")
    cairn_abort(code, sprintf("Unexpected answer from %s (HTTP %d): %s", endpoint, status, body_text(resp)),
                http_status = status)
  }
  payload$data
}

graphql_error <- function(errors, status) {
  first <- errors[[1]]
  ext <- first$extensions
  code <- if (is.character(ext$code) && length(ext$code) == 1) ext$code else "INTERNAL"
  details <- ext[setdiff(names(ext), "code")]
  message <- if (is.character(first$message)) first$message else "unknown error"
  cairn_error(code, message, status, if (is.null(details)) list() else details)
}

# The code of a refused HTTP (non-GraphQL) answer: the body's {error: {code, message}} when it
# has one, else one from the status.
http_error <- function(resp, what) {
  status <- httr2::resp_status(resp)
  code <- switch(as.character(status), "400" = "INVALID_ARGUMENT", "401" = "UNAUTHENTICATED",
                 "403" = "PERMISSION_DENIED", "404" = "NOT_FOUND", "409" = "CONFLICT",
                 "413" = "PAYLOAD_TOO_LARGE", "INTERNAL")
  message <- body_text(resp)
  payload <- parse_json_body(resp)
  if (is.list(payload) && is.list(payload$error)) {
    if (is.character(payload$error$code)) code <- payload$error$code
    if (is.character(payload$error$message)) message <- payload$error$message
  }
  cairn_error(code, paste0(what, ": ", message), status)
}
