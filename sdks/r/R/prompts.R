#' Load a prompt version
#'
#' @param name a prompt's name (its latest version), or a URI:
#'   `prompts:/<name>/<version>`, `prompts:/<name>@<alias>`.
#' @param version a version number (optional; not with `alias`).
#' @param alias an alias, e.g. `"production"` or `"latest"` (optional).
#' @return The prompt version: a list with `name`, `version`, `uri`,
#'   `template_type`, `template` (text prompts), `messages` (chat prompts: a
#'   list of `role`/`content`), `variables`, `aliases`, `model_config` (a
#'   list), `commit_message` and `tags`. An unknown prompt or version raises
#'   `NOT_FOUND`.
#' @examples
#' \dontrun{
#' p <- cairn_load_prompt("summarise", alias = "production")
#' cat(p$template)
#' }
#' @export
cairn_load_prompt <- function(name, version = NULL, alias = NULL) {
  name <- check_text("prompt name", name)
  if (!is.null(version) && !is.null(alias)) invalid_argument("give version or alias, not both")
  uri <- if (startsWith(name, "prompts:/")) {
    if (!is.null(version) || !is.null(alias)) invalid_argument("a prompts:/ URI takes no version or alias")
    name
  } else if (!is.null(version)) {
    paste0("prompts:/", name, "/", check_version(version))
  } else if (!is.null(alias)) {
    paste0("prompts:/", name, "@", check_text("alias", alias))
  } else {
    paste0("prompts:/", name, "@latest")
  }
  decode_prompt_version(graphql(Q_RESOLVE_PROMPT_URI, list(uri = uri))$resolvePromptUri)
}

#' Create a prompt version
#'
#' @param name the prompt's name.
#' @param template the text template (`{{ variable }}` placeholders).
#' @param commit_message an optional note.
#' @param create_prompt_if_missing create the prompt when it does not exist
#'   yet (default `FALSE`: `NOT_FOUND`).
#' @return The new prompt version (as [cairn_load_prompt()]).
#' @examples
#' \dontrun{
#' cairn_create_prompt_version("greet", "Hello {{name}}", create_prompt_if_missing = TRUE)
#' }
#' @export
cairn_create_prompt_version <- function(name, template, commit_message = NULL,
                                        create_prompt_if_missing = FALSE) {
  vars <- list(name = check_text("prompt name", name), template = check_text("template", template),
               createPromptIfMissing = isTRUE(create_prompt_if_missing))
  if (!is.null(commit_message)) vars$commitMessage <- check_text("commit_message", commit_message)
  decode_prompt_version(graphql(Q_CREATE_PROMPT_VERSION, vars)$createPromptVersion)
}

#' Point a prompt alias at a version
#'
#' @param name the prompt's name.
#' @param alias the alias.
#' @param version the version number.
#' @return The prompt version the alias now points at.
#' @examples
#' \dontrun{
#' cairn_set_prompt_alias("greet", "production", 1)
#' }
#' @export
cairn_set_prompt_alias <- function(name, alias, version) {
  vars <- list(name = check_text("prompt name", name), alias = check_text("alias", alias),
               version = check_version(version))
  decode_prompt_version(graphql(Q_SET_PROMPT_ALIAS, vars)$setPromptAlias)
}

decode_prompt_version <- function(n) {
  list(
    name = n$name,
    version = as.integer(n$version),
    uri = n$uri,
    template_type = n$templateType,
    template = n$template,
    messages = n$messages,
    variables = as.character(unlist(n$variables)),
    aliases = as.character(unlist(n$aliases)),
    model_config = n$modelConfig,
    commit_message = n$commitMessage,
    tags = key_values(n$tags)
  )
}
