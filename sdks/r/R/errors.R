#' Typed errors: the `cairn_error` condition
#'
#' Every failure the package raises is a condition of class
#' `c("cairn_error_<code>", "cairn_error", "error", "condition")`, where
#' `<code>` is the lower-case error code, so both
#' `tryCatch(..., cairn_error = function(e) e$code)` and
#' `tryCatch(..., cairn_error_not_found = function(e) NULL)` work. Fields:
#'
#' * `code`: the server's code (`extensions.code` of the GraphQL error):
#'   `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`, `FAILED_PRECONDITION`,
#'   `PERMISSION_DENIED`, `UNAUTHENTICATED`, `RESOURCE_EXHAUSTED`,
#'   `UNAVAILABLE`, ...; checks the package makes before sending raise the code
#'   the server would (`INVALID_ARGUMENT`).
#' * `message`: what went wrong.
#' * `http_status`: the HTTP status of the answer (0 when there was none).
#' * `details`: the error's other `extensions` (a list).
#'
#' @param code the error code, e.g. `"NOT_FOUND"`.
#' @param message the message.
#' @param http_status the HTTP status (0 when none).
#' @param details a list of further fields.
#' @param call the call to report (default: none).
#' @return `cairn_error()` returns the condition object (it does not signal it).
#' @examples
#' e <- cairn_error("NOT_FOUND", "Run r1 not found")
#' class(e)
#' e$code
#' tryCatch(stop(e), cairn_error = function(err) err$code)
#' @name cairn_error
#' @export
cairn_error <- function(code, message, http_status = 0L, details = list(), call = NULL) {
  structure(
    class = c(paste0("cairn_error_", tolower(code)), "cairn_error", "error", "condition"),
    list(
      message = message,
      call = call,
      code = code,
      http_status = as.integer(http_status),
      details = details
    )
  )
}

#' @export
conditionMessage.cairn_error <- function(c) {
  paste0(c$code, ": ", c$message)
}

cairn_abort <- function(code, message, http_status = 0L, details = list()) {
  stop(cairn_error(code, message, http_status, details))
}

invalid_argument <- function(message) {
  cairn_abort("INVALID_ARGUMENT", message)
}
