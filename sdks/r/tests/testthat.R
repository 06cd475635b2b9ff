# R CMD check entry point; sdks/r/scripts/test.sh runs the same files against a real server.
library(testthat)
library(cairn)
test_check("cairn")
