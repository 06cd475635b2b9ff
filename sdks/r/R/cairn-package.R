#' cairn: the R client of the Cairn ML platform
#'
#' Tracking (experiments, runs, params, metrics, tags), run search as a data
#' frame, artifacts, the model registry and prompts, over Cairn's public GraphQL
#' API (`POST /graphql`) with httr2 and jsonlite.
#'
#' Start with [cairn_set_tracking_uri()]. The API key comes from
#' `CAIRN_API_KEY` (sent as `Authorization: Bearer <key>`), the workspace from
#' `CAIRN_WORKSPACE` (sent as `x-cairn-workspace`), the server from
#' `CAIRN_TRACKING_URI` (default `http://127.0.0.1:4680`).
#'
#' Metric points are buffered and sent in batches (see [cairn_log_metric()] and
#' [cairn_flush()]); everything else is sent at once. Failures are conditions of
#' class `cairn_error` with the server's code in `$code` (see [cairn_error]).
#'
#' @keywords internal
"_PACKAGE"
