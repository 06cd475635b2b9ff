#' Upload a file as an artifact of a run
#'
#' Sends the file with `PUT /api/runs/<run>/artifacts/<path>`, its SHA-256 in
#' `x-cairn-sha256` (the server refuses a body that does not match), and
#' checks the digest the server stored. The path is checked first (relative
#' POSIX path: no leading `/`, no `\`, no empty, `.` or `..` segment).
#'
#' @param path the local file.
#' @param artifact_path where it goes under the run's artifact root, e.g.
#'   `"model/weights.bin"` (default: the file's name). When it ends in `/`, the
#'   file's name is appended (`"model/"` puts `w.bin` at `model/w.bin`).
#' @param run_id the run (default: the active run).
#' @return A list: `path`, `size` (bytes) and `sha256` as stored.
#' @examples
#' \dontrun{
#' cairn_log_artifact("model.rds", artifact_path = "model/model.rds")
#' }
#' @export
cairn_log_artifact <- function(path, artifact_path = NULL, run_id = NULL) {
  if (!is_string(path) || !file.exists(path) || dir.exists(path)) {
    invalid_argument(paste0("cannot read the file ", format_arg(path)))
  }
  if (is.null(artifact_path)) artifact_path <- basename(path)
  if (is_string(artifact_path) && endsWith(artifact_path, "/") && nchar(artifact_path) > 1) {
    artifact_path <- paste0(artifact_path, basename(path))
  }
  check_artifact_path(artifact_path)
  run_id <- resolve_run_id(run_id)
  con <- file(path, open = "rb")
  sha <- tryCatch(as.vector(as.character(openssl::sha256(con))), finally = close(con))
  url_path <- paste0("/api/runs/", url_encode(run_id), "/artifacts/", encode_path(artifact_path))
  what <- paste("uploading", artifact_path)
  req <- base_request(url_path)
  req <- httr2::req_method(req, "PUT")
  req <- httr2::req_headers(req, "x-cairn-sha256" = sha)
  req <- httr2::req_body_file(req, path, type = "application/octet-stream")
  result <- with_retries(what, function() {
    resp <- perform_once(req, what)
    status <- httr2::resp_status(resp)
    if (status %in% c(200L, 201L)) {
      body <- parse_json_body(resp)
      if (!is.list(body)) cairn_abort("BAD_RESPONSE", paste0(what, ": not JSON (HTTP ", status, ")"), status)
      return(body)
    }
    if (status %in% RETRYABLE_HTTP) {
      stop(retry_signal(paste0("HTTP ", status, " during ", what), NULL, retry_after_seconds(resp)))
    }
    stop(http_error(resp, what))
  })
  stored <- result$sha256 %||% sha
  if (!is_string(stored) || tolower(stored) != tolower(sha)) {
    cairn_abort("DATA_LOSS", sprintf("sha256 mismatch for %s: stored %s, sent %s", artifact_path, stored, sha))
  }
  list(path = result$path %||% artifact_path, size = as.numeric(result$size %||% file.size(path)), sha256 = stored)
}

url_encode <- function(s) {
  utils::URLencode(s, reserved = TRUE)
}

encode_path <- function(path) {
  paste(vapply(strsplit(path, "/", fixed = TRUE)[[1]], url_encode, ""), collapse = "/")
}
