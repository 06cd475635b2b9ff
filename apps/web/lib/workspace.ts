/**
 * Which workspace (tenant) the dashboard shows. In order: a `?ws=` query parameter (remembered in
 * localStorage; `?ws=default` goes back to the default), the remembered value, else the server's
 * default workspace. The client sends it as the `x-cairn-workspace` header on HTTP and in the
 * graphql-ws connectionParams (browsers cannot set headers on a WebSocket).
 * Pure: the caller passes the browser's values in.
 */

export const DEFAULT_WORKSPACE = 'default';
export const WORKSPACE_STORAGE_KEY = 'cairn.workspace';
export const RECENT_WORKSPACES_KEY = 'cairn.recentWorkspaces';
export const WORKSPACE_HEADER = 'x-cairn-workspace';
/** The server's rule for workspace ids. */
export const WORKSPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/u;
const MAX_RECENT = 8;

export function isValidWorkspace(value: string): boolean {
  return WORKSPACE_PATTERN.test(value);
}

export interface WorkspaceInputs {
  /** The `ws` query parameter, if any. */
  queryParam: string | null;
  /** The value remembered in localStorage, if any. */
  stored: string | null;
}

/**
 * The workspace to use and what to remember: a string to store, null to forget (back to the
 * default), undefined to keep. An invalid `?ws=` is ignored (reported by `invalid`).
 */
export function resolveWorkspace(inputs: WorkspaceInputs): {
  workspace: string;
  remember?: string | null;
  invalid?: string;
} {
  const param = inputs.queryParam?.trim() ?? null;
  if (param !== null && param !== '') {
    if (param === DEFAULT_WORKSPACE) return { workspace: DEFAULT_WORKSPACE, remember: null };
    if (isValidWorkspace(param)) return { workspace: param, remember: param };
    const fallback = storedOrDefault(inputs.stored);
    return { workspace: fallback, invalid: param };
  }
  return { workspace: storedOrDefault(inputs.stored) };
}

function storedOrDefault(stored: string | null): string {
  return stored && isValidWorkspace(stored) ? stored : DEFAULT_WORKSPACE;
}

/** The headers the client sends: none for the default workspace (the server's default). */
export function workspaceHeaders(workspace: string): Record<string, string> {
  return workspace === DEFAULT_WORKSPACE ? {} : { [WORKSPACE_HEADER]: workspace };
}

/** The URL's query with `ws` set for a non-default workspace (removed for the default). */
export function withWorkspaceParam(search: string, workspace: string): string {
  const params = new URLSearchParams(search);
  if (workspace === DEFAULT_WORKSPACE) params.delete('ws');
  else params.set('ws', workspace);
  return params.toString();
}

/** Recently used workspaces, newest first, from their stored JSON (tolerant of junk). */
export function parseRecent(stored: string | null): string[] {
  if (!stored) return [];
  try {
    const value: unknown = JSON.parse(stored);
    if (!Array.isArray(value)) return [];
    return value
      .filter((v): v is string => typeof v === 'string' && isValidWorkspace(v))
      .slice(0, MAX_RECENT);
  } catch {
    return [];
  }
}

/** The recent list with `workspace` moved to the front. */
export function addRecent(recent: readonly string[], workspace: string): string[] {
  return [workspace, ...recent.filter((w) => w !== workspace)].slice(0, MAX_RECENT);
}
