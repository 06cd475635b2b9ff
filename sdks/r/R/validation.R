# Client-side copies of the server's write checks (apps/api/src/limits.ts, input-hygiene.ts):
# metric points are sent later, in batches, so what can be checked is checked when they are
# logged. The codes are the server's (INVALID_ARGUMENT).

KEY_MAX <- 250L
KEY_PATTERN <- "^[A-Za-z0-9_. /:-]+$"
MAX_METRICS_PER_REQUEST <- 50000L

is_string <- function(x) {
  is.character(x) && length(x) == 1 && !is.na(x)
}

format_arg <- function(x) {
  if (is.null(x)) return("NULL")
  paste(utils::capture.output(utils::str(x, give.head = FALSE, vec.len = 2)), collapse = " ")
}

# Keys already found valid, per kind: cairn_log_metric() in a loop checks the same few keys
# thousands of times.
.valid_keys <- new.env(parent = emptyenv())

check_key <- function(kind, key) {
  if (is_string(key) && nzchar(key) && isTRUE(.valid_keys[[paste0(kind, ":", key)]])) return(key)
  if (!is_string(key)) invalid_argument(paste0(kind, " key must be a string, got ", format_arg(key)))
  if (nchar(key) == 0) invalid_argument(paste0(kind, " key must not be empty"))
  if (nchar(key) > KEY_MAX) {
    invalid_argument(sprintf('%s key "%s..." is longer than %d characters', kind, substr(key, 1, 40), KEY_MAX))
  }
  if (!grepl(KEY_PATTERN, key, perl = TRUE) || ".." %in% strsplit(key, "/", fixed = TRUE)[[1]] ||
      startsWith(key, "/")) {
    invalid_argument(sprintf(
      'Invalid %s key "%s": use letters, digits, "_", "-", ".", " ", ":" and "/" (no "..", no leading "/")',
      kind, key))
  }
  if (length(.valid_keys) < 10000L) .valid_keys[[paste0(kind, ":", key)]] <- TRUE
  key
}

check_id <- function(what, id) {
  if (!is_string(id) || nchar(id) == 0) {
    invalid_argument(paste0(what, " must be a non-empty string, got ", format_arg(id)))
  }
  id
}

# A text value: a string, or a raw vector of its UTF-8 bytes (the only way R can hold a NUL,
# which the server refuses: checked here, before any request). Numbers and logicals are turned
# into strings the way MLflow's R client does (as.character).
check_text <- function(what, value) {
  if (is.raw(value)) {
    if (any(value == as.raw(0))) invalid_argument(paste0(what, " contains a NUL character (\\u0000)"))
    value <- rawToChar(value)
    Encoding(value) <- "UTF-8"
  }
  if ((is.numeric(value) || is.logical(value)) && length(value) == 1 && !is.na(value)) {
    value <- as.character(value)
  }
  if (!is_string(value)) invalid_argument(paste0(what, " must be a string, got ", format_arg(value)))
  if (!validUTF8(value)) invalid_argument(paste0(what, " is not valid UTF-8"))
  enc2utf8(value)
}

# A relative POSIX artifact path as the server accepts it (checked before any upload).
check_artifact_path <- function(path) {
  problem <- NULL
  if (!is_string(path) || nchar(path) == 0) {
    problem <- "is empty"
  } else if (startsWith(path, "/")) {
    problem <- "must be relative (no leading '/')"
  } else if (grepl("\\", path, fixed = TRUE)) {
    problem <- "must use '/' as separator (no '\\')"
  } else if (grepl("[[:cntrl:]]", path)) {
    problem <- "contains a control character"
  } else {
    segments <- strsplit(path, "/", fixed = TRUE)[[1]]
    if (endsWith(path, "/")) segments <- c(segments, "")
    if (any(segments %in% c("", ".", ".."))) problem <- "has an empty, '.' or '..' segment"
  }
  if (!is.null(problem)) invalid_argument(paste0("Artifact path '", if (is_string(path)) path else format_arg(path), "' ", problem))
  path
}

now_ms <- function() {
  floor(as.numeric(Sys.time()) * 1000)
}
