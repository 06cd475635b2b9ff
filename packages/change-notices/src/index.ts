/**
 * Change notices: after a projection commits, it emits small notices (ids and positions, never
 * event data) on a Postgres channel. API instances LISTEN and turn them into subscription pushes
 * and read-your-writes wake-ups.
 */
export const CHANGES_CHANNEL = 'cairn_changes';
/** Appends notify this channel so that log tailers wake up at once instead of polling. */
export const APPENDED_CHANNEL = 'cairn_appended';

/**
 * The `traces` projection also says which traces it changed (span batches are streams of their
 * own, so stream ids alone do not name the traces): notices with this `p`, one `[traceId, 0]`
 * pair per changed trace. No projection has this name, so read-your-writes waiters never match.
 */
export const TRACES_CHANGED_NOTICE = 'traces:changed';

export interface ChangeNotice {
  /** projection name */
  p: string;
  /** workspace id */
  w: string;
  /** [stream id, position] pairs the projection has now applied */
  s: [string, number][];
}

/** Postgres limits a NOTIFY payload to 8000 bytes; split into chunks well under that. */
export function encodeChangeNotices(
  projection: string,
  workspaceId: string,
  streams: Map<string, number>,
): string[] {
  const payloads: string[] = [];
  let current: [string, number][] = [];
  let size = 0;
  for (const [streamId, position] of streams) {
    const entrySize = streamId.length + 16;
    if (size + entrySize > 6000 && current.length > 0) {
      payloads.push(
        JSON.stringify({ p: projection, w: workspaceId, s: current } satisfies ChangeNotice),
      );
      current = [];
      size = 0;
    }
    current.push([streamId, position]);
    size += entrySize;
  }
  if (current.length > 0) {
    payloads.push(
      JSON.stringify({ p: projection, w: workspaceId, s: current } satisfies ChangeNotice),
    );
  }
  return payloads;
}

export function decodeChangeNotice(payload: string): ChangeNotice | null {
  try {
    const value = JSON.parse(payload) as ChangeNotice;
    if (typeof value.p !== 'string' || typeof value.w !== 'string' || !Array.isArray(value.s))
      return null;
    return value;
  } catch {
    return null;
  }
}

/** The webhooks projection notifies this channel when it queued deliveries (the sender LISTENs). */
export const WEBHOOK_DELIVERIES_CHANNEL = 'cairn_webhook_deliveries';
