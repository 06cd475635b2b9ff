/**
 * The prompt registry from TypeScript: `loadPrompt(nameOrUri)` and the version's `format(vars)`
 * (docs/typescript-sdk.md, "Prompts"; the contract is docs/prompts.md). Loaded versions are
 * cached in the process for a TTL; after it the cached copy is answered at once and fetched
 * again in the background (stale-while-revalidate); while the server cannot be reached the last
 * good copy keeps being answered, with a warning.
 */
import { consoleLogger, env, resolveTrackingUri, type CairnLogger } from './config.ts';
import { CairnError } from './errors.ts';

export const DEFAULT_PROMPT_CACHE_TTL_MS = 60_000;
const SCHEME = 'prompts:/';
const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/gu;
const ALIAS = /^[A-Za-z0-9_-]{1,255}$/u;

export interface PromptMessage {
  role: string;
  content: string;
}

/** A failure of the prompt API: `code` is the server's `extensions.code` (`NOT_FOUND`,
 * `INVALID_ARGUMENT`, …) or `UNAVAILABLE` when the server could not be reached. */
export class PromptError extends CairnError {
  override readonly name: string = 'PromptError';
}

/** `format` was not given every variable; `missing` names them. */
export class PromptFormatError extends PromptError {
  constructor(
    message: string,
    readonly missing: string[],
  ) {
    super(message, 'INVALID_ARGUMENT', { missing });
  }
}

export interface ParsedPromptUri {
  name: string;
  version?: number;
  alias?: string;
}

function uriError(reason: string, message: string): PromptError {
  return new PromptError(message, 'INVALID_ARGUMENT', { argument: 'uri', reason });
}

function checkName(name: string): void {
  if (!name || name.includes('/') || name.includes('@'))
    throw uriError('NAME', `Bad prompt name "${name}": not empty, no "/" or "@"`);
}

function versionNumber(value: unknown, where: string): number {
  const n = typeof value === 'string' && /^\d+$/u.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
    throw uriError('VERSION', `Bad version ${String(value)} for "${where}": a positive integer`);
  return n;
}

/** The name and the version or alias of a `prompts:/` URI or a plain name (latest, unless
 * `version` is given). */
export function parsePromptUri(nameOrUri: string, version?: number): ParsedPromptUri {
  const text = typeof nameOrUri === 'string' ? nameOrUri.trim() : '';
  if (!text) throw uriError('NAME', 'A prompt name or prompts:/ URI is needed');
  if (text.startsWith(SCHEME)) {
    if (version !== undefined)
      throw new PromptError(
        `Give either a URI ("${text}") or a version, not both`,
        'INVALID_ARGUMENT',
        {
          argument: 'version',
        },
      );
    const rest = text.slice(SCHEME.length);
    const at = rest.lastIndexOf('@');
    if (at >= 0) {
      const name = rest.slice(0, at);
      const alias = rest.slice(at + 1);
      checkName(name);
      if (!ALIAS.test(alias)) throw uriError('ALIAS', `Bad alias "${alias}" in "${text}"`);
      return { name, alias };
    }
    const slash = rest.lastIndexOf('/');
    if (slash >= 0) {
      const name = rest.slice(0, slash);
      const ver = rest.slice(slash + 1);
      checkName(name);
      return ver === 'latest'
        ? { name, alias: 'latest' }
        : { name, version: versionNumber(ver, text) };
    }
    throw uriError(
      'SHAPE',
      `"${text}" is neither prompts:/<name>/<version> nor prompts:/<name>@<alias>`,
    );
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/u.test(text))
    throw uriError('SCHEME', `"${text}" is not a prompts:/ URI`);
  checkName(text);
  return version === undefined
    ? { name: text, alias: 'latest' }
    : { name: text, version: versionNumber(version, text) };
}

export function promptUri(parsed: ParsedPromptUri): string {
  return parsed.version !== undefined
    ? `${SCHEME}${parsed.name}/${parsed.version}`
    : `${SCHEME}${parsed.name}@${parsed.alias ?? 'latest'}`;
}

/** The distinct `{{name}}` placeholders, in order of first appearance. */
export function templateVariables(template: string | readonly PromptMessage[]): string[] {
  const seen = new Set<string>();
  const texts = typeof template === 'string' ? [template] : template.map((m) => m.content);
  for (const text of texts) for (const m of text.matchAll(VARIABLE)) seen.add(m[1]!);
  return [...seen];
}

function substitute(text: string, values: Record<string, unknown>, missing: Set<string>): string {
  return text.replace(VARIABLE, (whole, name: string) => {
    if (Object.hasOwn(values, name)) {
      const value = values[name];
      return typeof value === 'string' ? value : String(value);
    }
    missing.add(name);
    return whole;
  });
}

export interface PromptVersionData {
  name: string;
  version: number;
  templateType: 'TEXT' | 'CHAT';
  template: string | null;
  messages: PromptMessage[] | null;
  variables: string[];
  responseFormat: Record<string, unknown> | null;
  modelConfig: Record<string, unknown> | null;
  commitMessage: string | null;
  author: string | null;
  /** Unix epoch milliseconds. */
  createdAt: number;
  tags: { key: string; value: string }[];
  aliases: string[];
}

/** One immutable prompt version, as `loadPrompt` answers it. */
export class PromptVersion {
  readonly name: string;
  readonly version: number;
  readonly templateType: 'TEXT' | 'CHAT';
  /** TEXT: the template; CHAT: the messages. */
  readonly template: string | readonly PromptMessage[];
  readonly variables: readonly string[];
  readonly responseFormat: Record<string, unknown> | null;
  readonly modelConfig: Record<string, unknown> | null;
  readonly commitMessage: string | null;
  readonly author: string | null;
  readonly createdAt: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly aliases: readonly string[];

  constructor(data: PromptVersionData) {
    this.name = data.name;
    this.version = data.version;
    this.templateType = data.templateType;
    this.template =
      data.templateType === 'CHAT'
        ? Object.freeze(
            (data.messages ?? []).map((m) => Object.freeze({ role: m.role, content: m.content })),
          )
        : (data.template ?? '');
    this.variables = Object.freeze([...data.variables]);
    this.responseFormat = data.responseFormat;
    this.modelConfig = data.modelConfig;
    this.commitMessage = data.commitMessage;
    this.author = data.author;
    this.createdAt = data.createdAt;
    this.tags = Object.freeze(Object.fromEntries(data.tags.map((t) => [t.key, t.value])));
    this.aliases = Object.freeze([...data.aliases]);
  }

  /** `prompts:/<name>/<version>`: the spelling traces link by. */
  get uri(): string {
    return `${SCHEME}${this.name}/${this.version}`;
  }

  /** Fills the `{{variables}}`: a string for a TEXT prompt, messages for a CHAT prompt. Every
   * variable must be given ({@link PromptFormatError} names the missing ones) unless
   * `allowPartial`. Inside a Cairn trace, links the trace to this version. */
  format(
    values: Record<string, unknown>,
    opts?: { allowPartial?: boolean },
  ): string | PromptMessage[];
  format(
    values: Record<string, unknown> = {},
    opts: { allowPartial?: boolean } = {},
  ): string | PromptMessage[] {
    const missing = new Set<string>();
    const out =
      typeof this.template === 'string'
        ? substitute(this.template, values, missing)
        : this.template.map((m) => ({
            role: m.role,
            content: substitute(m.content, values, missing),
          }));
    if (missing.size > 0 && !opts.allowPartial) {
      const names = [...missing].map((n) => `"${n}"`).join(', ');
      throw new PromptFormatError(
        `Prompt ${this.uri} needs variable(s) ${names} that were not given (its variables: ${this.variables.join(', ') || 'none'})`,
        [...missing],
      );
    }
    linkToCurrentTrace(this.uri);
    return out;
  }

  /** TEXT only: `format` typed as a string. */
  formatText(values: Record<string, unknown> = {}): string {
    const out = this.format(values);
    if (typeof out !== 'string')
      throw new PromptError(`${this.uri} is a CHAT prompt`, 'INVALID_ARGUMENT');
    return out;
  }

  /** CHAT only: `format` typed as messages. */
  formatMessages(values: Record<string, unknown> = {}): PromptMessage[] {
    const out = this.format(values);
    if (typeof out === 'string')
      throw new PromptError(`${this.uri} is a TEXT prompt`, 'INVALID_ARGUMENT');
    return out;
  }

  /** The template with `{{ name }}` written `{name}`. */
  toSingleBraceFormat(): string | PromptMessage[] {
    const convert = (text: string): string =>
      text.replace(VARIABLE, (_w, name: string) => `{${name}}`);
    return typeof this.template === 'string'
      ? convert(this.template)
      : this.template.map((m) => ({ role: m.role, content: convert(m.content) }));
  }
}

/**
 * Links a formatted prompt version to the current trace. Tracing lives in tracing.ts (Node only:
 * AsyncLocalStorage); it installs the linker when it is loaded, so the browser entry, which never
 * loads it, formats prompts without a trace to link to.
 */
let traceLinker: ((uri: string) => boolean) | null = null;

/** Installed by tracing.ts. */
export function setPromptTraceLinker(linker: (uri: string) => boolean): void {
  traceLinker = linker;
}

/** Adds `uri` to the prompt versions of the current trace (`cairn.trace.prompt_versions`);
 * false outside a trace (and where tracing is not loaded). */
export function linkToCurrentTrace(uri: string): boolean {
  return traceLinker?.(uri) ?? false;
}

// ---------------------------------------------------------------------------------- loading

export interface LoadPromptOptions {
  /** A version number, with a plain name. */
  version?: number;
  /** Answer null instead of throwing NOT_FOUND. */
  allowMissing?: boolean;
  /** How long a loaded version is answered from memory (env `CAIRN_PROMPT_CACHE_TTL_SECONDS`,
   * default 60 s; 0 asks the server every time). */
  cacheTtlMs?: number;
  /** Cairn server (env `CAIRN_TRACKING_URI`, default http://127.0.0.1:4680). */
  trackingUri?: string;
  /** Sent as `x-cairn-workspace` (env `CAIRN_WORKSPACE`). */
  workspace?: string;
  /** Sent as `Authorization: Bearer …` (env `CAIRN_API_KEY`). */
  apiKey?: string;
  /** Timeout of one request (default 10 s). */
  requestTimeoutMs?: number;
  logger?: CairnLogger;
}

const VERSION_FIELDS = `name version templateType template messages { role content } variables
  responseFormat modelConfig commitMessage author createdAt tags { key value } aliases`;
const RESOLVE = `query CairnResolvePrompt($uri: String!) { resolvePromptUri(uri: $uri) { ${VERSION_FIELDS} } }`;

interface Entry {
  value: PromptVersion;
  fetchedAt: number;
  refreshing: boolean;
  lastError?: Error;
}

const cache = new Map<string, Entry>();

/** Forgets every prompt `loadPrompt` cached in this process. */
export function clearPromptCache(): void {
  cache.clear();
}

function defaultTtlMs(): number {
  const raw = env('CAIRN_PROMPT_CACHE_TTL_SECONDS');
  const seconds = Number(raw);
  return raw !== undefined && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : DEFAULT_PROMPT_CACHE_TTL_MS;
}

async function resolve(
  url: string,
  headers: Record<string, string>,
  uri: string,
  timeoutMs: number,
): Promise<PromptVersion> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: RESOLVE, variables: { uri } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new PromptError(
      `${url} could not be reached: ${(error as Error).message}`,
      'UNAVAILABLE',
    );
  }
  let payload: {
    data?: { resolvePromptUri: PromptVersionData } | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
  try {
    payload = (await response.json()) as typeof payload;
  } catch {
    throw new PromptError(
      `HTTP ${response.status} from ${url} without a GraphQL answer`,
      response.status >= 500 ? 'UNAVAILABLE' : 'BAD_RESPONSE',
    );
  }
  const first = payload.errors?.[0];
  if (first) {
    const { code, ...details } = first.extensions ?? {};
    throw new PromptError(first.message, typeof code === 'string' ? code : 'INTERNAL', details);
  }
  if (!payload.data?.resolvePromptUri)
    throw new PromptError(
      `HTTP ${response.status} from ${url} without data`,
      response.status >= 500 ? 'UNAVAILABLE' : 'BAD_RESPONSE',
    );
  return new PromptVersion(payload.data.resolvePromptUri);
}

function serveStale(entry: Entry, uri: string, logger: CairnLogger): PromptVersion {
  if (entry.lastError) {
    const age = Math.round((Date.now() - entry.fetchedAt) / 1000);
    logger.warn(
      `serving ${uri} as version ${entry.value.version} cached ${age} s ago; the server could not be reached: ${entry.lastError.message}`,
    );
  }
  return entry.value;
}

const RECOVERABLE = new Set(['UNAVAILABLE', 'INTERNAL', 'BAD_RESPONSE']);

/**
 * The prompt version a URI (`prompts:/name@alias`, `prompts:/name/3`, `prompts:/name@latest`)
 * or a name (with `version`, else the latest) points at; null with `allowMissing` when nothing
 * has that name, version or alias.
 */
export async function loadPrompt(
  nameOrUri: string,
  opts: LoadPromptOptions & { allowMissing: true },
): Promise<PromptVersion | null>;
export async function loadPrompt(
  nameOrUri: string,
  opts?: LoadPromptOptions,
): Promise<PromptVersion>;
export async function loadPrompt(
  nameOrUri: string,
  opts: LoadPromptOptions = {},
): Promise<PromptVersion | null> {
  const uri = promptUri(parsePromptUri(nameOrUri, opts.version));
  const ttl = Math.max(0, opts.cacheTtlMs ?? defaultTtlMs());
  const logger = opts.logger ?? consoleLogger;
  const base = resolveTrackingUri(opts.trackingUri);
  const workspace = opts.workspace ?? env('CAIRN_WORKSPACE');
  const apiKey = opts.apiKey ?? env('CAIRN_API_KEY');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
  };
  if (workspace) headers['x-cairn-workspace'] = workspace;
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const url = `${base}/graphql`;
  const timeoutMs = opts.requestTimeoutMs ?? 10_000;
  const key = `${base}|${workspace ?? ''}|${uri}`;
  const entry = cache.get(key);
  if (entry && ttl > 0) {
    if (Date.now() - entry.fetchedAt < ttl) return entry.value;
    if (!entry.refreshing) {
      entry.refreshing = true;
      void resolve(url, headers, uri, timeoutMs).then(
        (fresh) => {
          cache.set(key, { value: fresh, fetchedAt: Date.now(), refreshing: false });
        },
        (error: unknown) => {
          if (error instanceof PromptError && error.code === 'NOT_FOUND') {
            cache.delete(key);
            logger.warn(`prompt ${uri} no longer exists; dropped from the cache`);
            return;
          }
          entry.refreshing = false;
          entry.lastError = error instanceof Error ? error : new Error(String(error));
          logger.warn(
            `could not refresh prompt ${uri} (serving the cached copy): ${entry.lastError.message}`,
          );
        },
      );
    }
    return serveStale(entry, uri, logger);
  }
  try {
    const fresh = await resolve(url, headers, uri, timeoutMs);
    cache.set(key, { value: fresh, fetchedAt: Date.now(), refreshing: false });
    return fresh;
  } catch (error) {
    if (error instanceof PromptError && error.code === 'NOT_FOUND') {
      cache.delete(key);
      if (opts.allowMissing) return null;
      throw error;
    }
    if (!entry || !(error instanceof PromptError) || !RECOVERABLE.has(error.code)) throw error;
    entry.lastError = error;
    return serveStale(entry, uri, logger);
  }
}

/** Creates a prompt version (the tracking client's `createPromptVersion`). */
export const CREATE_PROMPT_VERSION = `mutation CairnCreatePromptVersion($name: String!, $template: String,
    $messages: [PromptMessageInput!], $commitMessage: String, $modelConfig: JSON, $tags: [KeyValueInput!],
    $createPromptIfMissing: Boolean) {
  createPromptVersion(name: $name, template: $template, messages: $messages, commitMessage: $commitMessage,
    modelConfig: $modelConfig, tags: $tags, createPromptIfMissing: $createPromptIfMissing) {
    name version template } }`;
