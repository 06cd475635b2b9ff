# The shared test vectors (sdks/test-vectors/*.json) against the real server: one test per case.

uniq <- paste0(format(Sys.time(), "%H%M%S"), "-r-", paste(sample(letters, 6), collapse = ""))
files <- sort(list.files(vectors_dir(), pattern = "\\.json$", full.names = TRUE))

test_that("the vector files are there and not empty", {
  expect_true(all(c("prompts.json", "registry.json", "tracking.json") %in% basename(files)))
})

for (file in files) {
  for (case in read_vectors(file)$cases) {
    test_that(paste0(basename(file), ": ", case$name), {
      problem <- run_case(case, uniq)
      if (is.null(problem)) succeed() else fail(problem)
    })
  }
}
