# Issue 18's acceptance against the real server: a run with params, 10,000 metric points and a
# tag, read back; a model version registered from the run's artifact and an alias moved. Then
# what the R API adds: bulk logging, search as a data frame, typed errors, the API key header.

uniq <- function() paste(sample(c(letters, 0:9), 8, replace = TRUE), collapse = "")

fresh_state <- function() {
  cairn:::state_init()
  cairn_set_tracking_uri(cairn_test_server$url)
}

test_that("a run with params, 10,000 metric points and a tag reads back", {
  fresh_state()
  cairn_set_tracking_uri(cairn_test_server$url, batch_size = 20000)
  exp <- cairn_create_experiment(paste0("r-acceptance-", uniq()))
  run <- cairn_start_run(experiment_id = exp, run_name = "ten-thousand")
  expect_equal(run$status, "RUNNING")
  expect_equal(cairn_active_run_id(), run$id)
  cairn_log_param("lr", 0.01)
  cairn_log_param("optimizer", "adam", run_id = run$id)
  t0 <- cairn:::now_ms()
  for (step in 0:9999) cairn_log_metric("loss", 1 / (step + 1), step = step, timestamp = t0 + step)
  cairn_set_tag("team", "r")
  # Buffered, not sent point by point: the server has none of them before the flush.
  expect_equal(cairn:::.cairn$buffer$count(), 10000L)
  expect_equal(nrow(cairn_get_metric_history("loss", run_id = run$id)), 0)
  expect_equal(cairn_flush(), 10000L)
  expect_equal(cairn:::.cairn$buffer$count(), 0L)

  back <- cairn_get_run(run$id)
  expect_s3_class(back, "cairn_run")
  expect_equal(back$params, list(lr = "0.01", optimizer = "adam"))
  expect_equal(back$tags$team, "r")
  expect_equal(back$metrics[["loss"]], 1 / 10000, tolerance = 1e-12)
  expect_equal(back$latest_metrics$step, 9999)

  history <- cairn_get_metric_history("loss", run_id = run$id)
  expect_equal(nrow(history), 10000)
  expect_equal(history$step, 0:9999)
  expect_identical(history$value, 1 / (1:10000)) # every double exactly as logged
  expect_equal(history$timestamp, t0 + 0:9999)

  found <- cairn_search_runs(exp, filter = "params.optimizer = 'adam' AND metrics.loss < 0.001",
                             order_by = "metrics.loss ASC")
  expect_equal(found$run_id, run$id)

  ended <- cairn_end_run()
  expect_equal(ended$status, "FINISHED")
  expect_true(is.numeric(ended$end_time) && ended$end_time >= t0)
  expect_null(cairn_active_run_id())
})

test_that("a model version registered from a run's artifact, its alias moved", {
  fresh_state()
  exp <- cairn_create_experiment(paste0("r-registry-", uniq()))
  run <- cairn_start_run(experiment_id = exp, run_name = "train")
  dir <- withr::local_tempdir()
  weights <- file.path(dir, "weights.bin")
  bytes <- as.raw(sample(0:255, 300000, replace = TRUE))
  writeBin(bytes, weights)
  stored <- cairn_log_artifact(weights, artifact_path = "model/")
  expect_equal(stored$path, "model/weights.bin")
  expect_equal(stored$size, 300000)
  expect_equal(stored$sha256, as.vector(as.character(openssl::sha256(bytes))))
  mlmodel <- file.path(dir, "MLmodel")
  writeLines("flavors: {}", mlmodel)
  cairn_log_artifact(mlmodel, artifact_path = "model/MLmodel", run_id = run$id)

  name <- paste0("r-model-", uniq())
  model <- cairn_create_registered_model(name)
  expect_equal(model$name, name)
  source <- paste0("runs:/", run$id, "/model")
  v1 <- cairn_create_model_version(name, source, run_id = run$id)
  v2 <- cairn_create_model_version(name, source, run_id = run$id)
  expect_equal(c(v1$version, v2$version), c(1L, 2L))
  expect_equal(v1$run_id, run$id)

  cairn_set_model_alias(name, "champion", 1)
  expect_equal(cairn_get_model_version_by_alias(name, "champion")$version, 1L)
  moved <- cairn_set_model_alias(name, "champion", 2)
  expect_equal(moved$aliases, "champion")
  resolved <- cairn_get_model_version_by_alias(name, "champion")
  expect_equal(resolved$version, 2L)
  expect_equal(resolved$source, source)
  expect_equal(cairn_get_registered_model(name)$aliases, c(champion = 2L))
  expect_equal(cairn_get_model_version(name, 1)$aliases, character())

  missing <- tryCatch(cairn_get_model_version_by_alias(name, "nobody"), cairn_error = function(e) e)
  expect_s3_class(missing, "cairn_error_not_found")
  expect_equal(missing$code, "NOT_FOUND")
  cairn_end_run()
})

test_that("bulk logging in several batches keeps every point, NaN and Inf included", {
  fresh_state()
  cairn_set_tracking_uri(cairn_test_server$url, batch_size = 1000)
  run <- cairn_start_run(experiment_id = cairn_create_experiment(paste0("r-bulk-", uniq())))
  values <- c(NaN, Inf, -Inf, seq_len(2497) / 7)
  n <- cairn_log_metrics(data.frame(key = "acc", value = values, step = 0:2499, timestamp = 1.7e12 + 0:2499))
  expect_equal(n, 2500)
  cairn_log_metric("lr", c(0.1, 0.01), step = 1:2)
  other <- cairn_start_run(experiment_id = run$experiment_id)
  cairn_log_metrics(list(key = "x", value = c(1, 2, 3), step = 0:2, run_id = c(run$id, other$id, run$id)))
  cairn_flush()
  expect_equal(cairn_get_metric_history("x", run_id = run$id)$value, c(1, 3))
  expect_equal(cairn_get_metric_history("x", run_id = other$id)$value, 2)
  cairn_end_run(run_id = other$id)
  expect_equal(cairn_active_run_id(), run$id)
  history <- cairn_get_metric_history("acc")
  expect_equal(nrow(history), 2500)
  expect_true(is.nan(history$value[[1]]))
  expect_equal(history$value[2:3], c(Inf, -Inf))
  expect_identical(history$value[4:2500], seq_len(2497) / 7)
  expect_equal(history$timestamp[[2500]], 1.7e12 + 2499)
  expect_equal(cairn_get_metric_history("lr")$value, c(0.1, 0.01))
  cairn_end_run(status = "KILLED")
  expect_equal(cairn_get_run(run$id)$status, "KILLED")
})

test_that("search answers a data frame with params., metrics. and tags. columns", {
  fresh_state()
  exp <- cairn_create_experiment(paste0("r-search-", uniq()))
  a <- cairn_start_run(experiment_id = exp, run_name = "a", tags = list(team = "x"))
  cairn_log_param("opt", "adam")
  cairn_log_metric("loss", 0.3)
  cairn_end_run()
  b <- cairn_start_run(experiment_id = exp, run_name = "b")
  cairn_log_metric("loss", 0.1)
  cairn_log_metric("acc", 0.9)
  cairn_end_run()
  runs <- cairn_search_runs(exp, order_by = "metrics.loss ASC")
  expect_s3_class(runs, "data.frame")
  expect_equal(runs$run_id, c(b$id, a$id))
  expect_equal(runs$run_name, c("b", "a"))
  expect_equal(runs$status, c("FINISHED", "FINISHED"))
  expect_equal(runs[["metrics.loss"]], c(0.1, 0.3))
  expect_equal(runs[["metrics.acc"]], c(0.9, NA))
  expect_equal(runs[["params.opt"]], c(NA, "adam"))
  expect_equal(runs[["tags.team"]], c(NA, "x"))
  expect_null(attr(runs, "next_page_token"))
  first <- cairn_search_runs(exp, order_by = "metrics.loss ASC", max_results = 1)
  expect_equal(first$run_id, b$id)
  expect_true(is.character(attr(first, "next_page_token")))
  none <- cairn_search_runs(exp, filter = "metrics.loss > 5")
  expect_equal(nrow(none), 0)
  bad <- tryCatch(cairn_search_runs(exp, filter = "metrics.loss >>> 1"), cairn_error = function(e) e$code)
  expect_equal(bad, "INVALID_ARGUMENT")
})

test_that("bad input is refused before sending, with the server's codes", {
  fresh_state()
  code <- function(expr) tryCatch({
    expr
    "no error"
  }, cairn_error = function(e) e$code)
  expect_equal(code(cairn_log_metric("loss", 1)), "FAILED_PRECONDITION") # no active run
  expect_equal(code(cairn_log_metric("", 1, run_id = "r")), "INVALID_ARGUMENT")
  expect_equal(code(cairn_log_metric("a/../b", 1, run_id = "r")), "INVALID_ARGUMENT")
  expect_equal(code(cairn_log_metric("loss", "high", run_id = "r")), "INVALID_ARGUMENT")
  expect_equal(code(cairn_log_metric("loss", 1, step = 1.5, run_id = "r")), "INVALID_ARGUMENT")
  expect_equal(code(cairn_set_tag("k", as.raw(c(0x61, 0, 0x62)), run_id = "r")), "INVALID_ARGUMENT")
  expect_equal(cairn:::.cairn$buffer$count(), 0L) # nothing was buffered
  file <- withr::local_tempfile(lines = "x")
  for (bad in c("../x", "/abs", "a\\b", "a//b", "a/./b", "")) {
    expect_equal(code(cairn_log_artifact(file, artifact_path = bad, run_id = "r")), "INVALID_ARGUMENT")
  }
  expect_equal(code(cairn_set_tracking_uri("ftp://x")), "INVALID_ARGUMENT")
  expect_equal(code(cairn_get_run("0000000000000000000000000000dead")), "NOT_FOUND")
})

test_that("a batch the server refuses raises once, and later points still go", {
  fresh_state()
  cairn_log_metric("loss", 1, run_id = "0000000000000000000000000000beef")
  err <- tryCatch(cairn_flush(), cairn_error = function(e) e)
  expect_s3_class(err, "cairn_error")
  expect_equal(err$code, "NOT_FOUND")
  expect_match(err$message, "1 metric point")
  expect_silent(cairn_flush())
  run <- cairn_start_run(experiment_id = cairn_create_experiment(paste0("r-after-", uniq())))
  cairn_log_metric("loss", 2)
  cairn_flush()
  expect_equal(cairn_get_run(run$id)$metrics[["loss"]], 2)
})

test_that("prompts load by version, alias and latest", {
  fresh_state()
  name <- paste0("r-prompt-", uniq())
  cairn_create_prompt_version(name, "Hello {{ name }}", create_prompt_if_missing = TRUE)
  v2 <- cairn_create_prompt_version(name, "Hi {{name}} from {{ place }}")
  expect_equal(v2$version, 2L)
  cairn_set_prompt_alias(name, "prod", 1)
  expect_equal(cairn_load_prompt(name, alias = "prod")$template, "Hello {{ name }}")
  expect_equal(cairn_load_prompt(name, version = 2)$variables, c("name", "place"))
  expect_equal(cairn_load_prompt(name)$version, 2L)
  expect_equal(cairn_load_prompt(paste0("prompts:/", name, "/1"))$version, 1L)
  expect_equal(tryCatch(cairn_load_prompt(name, version = 9), cairn_error = function(e) e$code), "NOT_FOUND")
})

test_that("the API key (CAIRN_API_KEY) and workspace go with every request", {
  fresh_state()
  created <- cairn_graphql(
    "mutation K($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
    list(input = list(name = paste0("r-viewer-", uniq()), role = "viewer"))
  )$createApiKey
  withr::local_envvar(CAIRN_API_KEY = created$secret, CAIRN_TRACKING_URI = cairn_test_server$url)
  cairn:::state_init()
  code <- function(expr) tryCatch({
    expr
    "no error"
  }, cairn_error = function(e) e$code)
  # A viewer key reads but may not write: the server saw the key.
  expect_equal(code(cairn_search_runs("0")), "no error")
  expect_equal(code(cairn_create_experiment(paste0("r-denied-", uniq()))), "PERMISSION_DENIED")
  cairn_set_tracking_uri(cairn_test_server$url, workspace = paste0("other-", uniq()))
  expect_equal(code(cairn_search_runs("0")), "PERMISSION_DENIED")
  cairn_set_tracking_uri(cairn_test_server$url, api_key = "cairn_aaaaaaaaaaaa_bogus", workspace = "")
  expect_equal(code(cairn_search_runs("0")), "UNAUTHENTICATED")
  fresh_state()
})

test_that("points still buffered when R exits are sent", {
  fresh_state()
  run <- cairn_start_run(experiment_id = cairn_create_experiment(paste0("r-exit-", uniq())))
  script <- sprintf(
    'library(cairn); cairn_set_tracking_uri("%s"); cairn_log_metric("loss", 0.25, step = 3, run_id = "%s")',
    cairn_test_server$url, run$id
  )
  status <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(script)),
                    env = paste0("R_LIBS=", paste(.libPaths(), collapse = ":")))
  expect_equal(status, 0L)
  history <- cairn_get_metric_history("loss", run_id = run$id)
  expect_equal(history$step, 3)
  expect_equal(history$value, 0.25)
})

test_that("a server that does not answer is retried, then UNAVAILABLE", {
  fresh_state()
  # A port nothing listens on: every attempt is refused at once.
  cairn_set_tracking_uri(paste0("http://127.0.0.1:", free_port()), retry_timeout = 1)
  started <- Sys.time()
  err <- tryCatch(cairn_create_experiment("never"), cairn_error = function(e) e)
  took <- as.numeric(difftime(Sys.time(), started, units = "secs"))
  expect_s3_class(err, "cairn_error_unavailable")
  expect_gt(err$details$attempts, 1)
  expect_gte(took, 1)
  expect_lt(took, 30)
  fresh_state()
})
