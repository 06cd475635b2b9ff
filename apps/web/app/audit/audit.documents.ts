/** GraphQL documents and types of the audit page and the per-object history (docs/governance.md). */

export const AUDIT_PAGE = 50;

const ENTRY = `position type domain streamId actor keyId recordedAt summary before after data
  origin { client address userAgent }`;

export const AUDIT_LOG_QUERY = `query AuditLog($filter: AuditFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    nodes { ${ENTRY} }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const AUDIT_LOG_APPENDED = `subscription AuditLogAppended($filter: AuditFilter) {
  auditLogAppended(filter: $filter) { entries { ${ENTRY} } }
}`;

export interface AuditOrigin {
  client: string | null;
  address: string | null;
  userAgent: string | null;
}

export interface AuditEntry {
  position: string;
  type: string;
  domain: string | null;
  streamId: string;
  actor: string;
  keyId: string | null;
  recordedAt: number | string;
  summary: string;
  before: unknown;
  after: unknown;
  data: unknown;
  origin: AuditOrigin | null;
}

export interface AuditFilterInput {
  actor?: string;
  types?: string[];
  domain?: string;
  streamId?: string;
  from?: number;
  to?: number;
}

export interface AuditLogResult {
  auditLog: {
    nodes: AuditEntry[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

export interface AuditLogAppendedResult {
  auditLogAppended: { entries: AuditEntry[] };
}

/** The domains of the event catalogue (AuditFilter.domain). */
export const AUDIT_DOMAINS = [
  'experiments',
  'runs',
  'registry',
  'webhooks',
  'tracing',
  'prompts',
  'evaluation',
  'auth',
  'deployments',
] as const;

/** New entries first, without duplicates (a push may repeat what a page already has). */
export function mergeEntries(pushed: AuditEntry[], list: AuditEntry[]): AuditEntry[] {
  const seen = new Set(list.map((e) => e.position));
  const fresh = pushed.filter((e) => !seen.has(e.position));
  return [...fresh, ...list].sort((a, b) => Number(b.position) - Number(a.position));
}

/** The dashboard page of an event's object, where there is one. */
export function streamHref(streamId: string, data: unknown): string | null {
  const name =
    data && typeof data === 'object' && typeof (data as { name?: unknown }).name === 'string'
      ? (data as { name: string }).name
      : null;
  const prefixes: [string, (id: string) => string | null][] = [
    ['run-', (id) => `/run?id=${encodeURIComponent(id)}`],
    ['experiment-', (id) => `/experiment?id=${encodeURIComponent(id)}`],
    ['trace-', (id) => `/trace?id=${encodeURIComponent(id)}`],
    ['evaluation-run-', (id) => `/evaluations/run?id=${encodeURIComponent(id)}`],
    ['annotation-queue-', (id) => `/evaluations/queues/view?id=${encodeURIComponent(id)}`],
    ['registered-model-', () => (name ? `/models/view?name=${encodeURIComponent(name)}` : null)],
    ['prompt-', () => (name ? `/prompts/view?name=${encodeURIComponent(name)}` : null)],
    ['deployment-', () => (name ? `/deployments/view?name=${encodeURIComponent(name)}` : null)],
  ];
  for (const [prefix, href] of prefixes)
    if (streamId.startsWith(prefix)) return href(streamId.slice(prefix.length));
  return null;
}

export const toMillis = (t: number | string): number => (typeof t === 'number' ? t : Number(t));
