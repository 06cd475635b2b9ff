# One real `cairn server` for the whole test run: the repository's CLI
# (node apps/cli/bin/cairn.js server: local mode, embedded PostgreSQL, a temporary home, a free
# loopback port), stopped when the run ends. CAIRN_TEST_SERVER_URL uses a running server instead.

find_repo_root <- function() {
  dir <- normalizePath(Sys.getenv("CAIRN_REPO_ROOT", getwd()), mustWork = FALSE)
  repeat {
    if (file.exists(file.path(dir, "apps/cli/bin/cairn.js"))) return(dir)
    parent <- dirname(dir)
    if (identical(parent, dir)) stop("apps/cli/bin/cairn.js not found above ", getwd())
    dir <- parent
  }
}

free_port <- function() {
  # The kernel picks the port (node is on PATH anyway: it runs the server).
  out <- system2("node", c("-e", shQuote(paste0(
    "const s=require('net').createServer();",
    "s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
  ))), stdout = TRUE)
  as.integer(out[[1]])
}

start_cairn_server <- function() {
  external <- Sys.getenv("CAIRN_TEST_SERVER_URL", "")
  if (nzchar(external)) return(list(url = sub("/+$", "", external), process = NULL, home = NULL))
  repo <- find_repo_root()
  home <- tempfile("cairn-r-sdk-test-")
  dir.create(home)
  port <- free_port()
  log <- file.path(home, "server.log")
  process <- processx::process$new(
    "node", c(file.path(repo, "apps/cli/bin/cairn.js"), "server", "--home", home, "--port", port),
    wd = repo, stdout = log, stderr = "2>&1", stdin = NULL, cleanup = TRUE
  )
  url <- paste0("http://127.0.0.1:", port)
  banner <- paste0("Cairn is running at ", url)
  deadline <- Sys.time() + 120
  tail_log <- function() paste(utils::tail(readLines(log, warn = FALSE), 40), collapse = "\n")
  repeat {
    if (!process$is_alive()) {
      stop("cairn server exited with ", process$get_exit_status(), ":\n", tail_log())
    }
    if (file.exists(log) && any(grepl(banner, readLines(log, warn = FALSE), fixed = TRUE))) {
      ok <- tryCatch({
        resp <- httr2::req_perform(httr2::req_error(httr2::req_timeout(
          httr2::request(paste0(url, "/healthz")), 2), is_error = function(r) FALSE))
        httr2::resp_status(resp) == 200
      }, error = function(e) FALSE)
      if (ok) break
    }
    if (Sys.time() > deadline) {
      process$kill()
      stop("cairn server did not start within 120 s:\n", tail_log())
    }
    Sys.sleep(0.1)
  }
  list(url = url, process = process, home = home)
}

stop_cairn_server <- function(server) {
  if (is.null(server$process)) return(invisible())
  # SIGTERM: the CLI shuts the embedded PostgreSQL down cleanly.
  server$process$signal(15L)
  server$process$wait(30000)
  if (server$process$is_alive()) server$process$kill()
  unlink(server$home, recursive = TRUE)
  invisible()
}

cairn_test_server <- start_cairn_server()
withr::defer(stop_cairn_server(cairn_test_server), teardown_env())
cairn::cairn_set_tracking_uri(cairn_test_server$url)
