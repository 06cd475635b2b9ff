/**
 * `CairnClient` of `@cairn/sdk/browser`: everything of CairnClientBase plus artifacts from bytes,
 * Blobs and ReadableStreams (artifacts-web.ts), and queued metric points sent when the page is
 * hidden or left (docs/typescript-sdk.md, "Browsers").
 *
 * Page lifecycle: there is no `beforeExit` in a page. On `pagehide` and on `visibilitychange` to
 * `hidden` (the last moment a page reliably runs on mobile), every waiting point is sent at once
 * with fetch `keepalive`, so the requests outlive the page. Browsers allow 64 KiB of keepalive
 * bodies in flight per page: bodies are cut at 60 KiB and those beyond the budget go as plain
 * requests (they complete when the page lives on, e.g. a hidden tab; an unloaded page may cancel
 * them). Points are sent at least every `flushIntervalMs` (1 s) anyway, so little waits.
 */
import type { LoggedArtifact, WebArtifactClient, WebArtifactSource } from './artifacts-web.ts';
import type { QueuedPoint } from './batcher.ts';
import {
  CairnClientBase,
  METRICS_TAIL,
  metricJson,
  metricsHead,
  type CairnClientBaseOptions,
} from './client-base.ts';
import { checkId } from './tracking.ts';

export interface CairnBrowserClientOptions extends CairnClientBaseOptions {
  /** Send waiting metric points on `pagehide` / `visibilitychange` → hidden (default true). */
  flushOnPageHide?: boolean;
}

/** Bytes of keepalive request bodies this client keeps in flight (browsers allow 64 KiB). */
export const KEEPALIVE_BUDGET_BYTES = 60 * 1024;

const encoder = new TextEncoder();

interface EventTargetLike {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

interface PageGlobals {
  addEventListener?: EventTargetLike['addEventListener'];
  removeEventListener?: EventTargetLike['removeEventListener'];
  document?: EventTargetLike & { visibilityState?: string };
}

export class CairnBrowserClient extends CairnClientBase {
  private readonly files: WebArtifactClient;
  private keepaliveInFlight = 0;
  private readonly detach: (() => void) | null;

  constructor(opts: CairnBrowserClientOptions = {}) {
    super(opts, { exitTimeoutMs: 0, userAgent: null });
    this.files = this.webArtifacts;
    this.detach = opts.flushOnPageHide === false ? null : this.watchPage();
  }

  private watchPage(): (() => void) | null {
    const page = globalThis as unknown as PageGlobals;
    if (typeof page.addEventListener !== 'function') return null;
    const onHide = () => this.batcher.sendWaitingNow();
    const onVisibility = () => {
      if (page.document?.visibilityState === 'hidden') this.batcher.sendWaitingNow();
    };
    page.addEventListener('pagehide', onHide);
    page.document?.addEventListener('visibilitychange', onVisibility);
    return () => {
      page.removeEventListener?.('pagehide', onHide);
      page.document?.removeEventListener('visibilitychange', onVisibility);
    };
  }

  /** Flushes, stops accepting metric points and removes the page listeners. */
  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      this.detach?.();
    }
  }

  /**
   * The page is going away: the points' requests start now, in bodies of at most 60 KiB, with
   * `keepalive` while the budget lasts.
   */
  protected override sendMetricsNow(runId: string, points: QueuedPoint[]): Promise<void> {
    const keys = new Map<string, string>();
    const head = metricsHead(runId, true);
    const bodies: string[] = [];
    let body = head;
    let bytes = encoder.encode(head).byteLength + METRICS_TAIL.length;
    let count = 0;
    for (const point of points) {
      const json = metricJson(point, keys);
      const size = encoder.encode(json).byteLength + 1;
      if (count > 0 && bytes + size > KEEPALIVE_BUDGET_BYTES) {
        bodies.push(body + METRICS_TAIL);
        body = metricsHead(runId, true);
        bytes = encoder.encode(body).byteLength + METRICS_TAIL.length;
        count = 0;
      }
      body += `${count > 0 ? ',' : ''}${json}`;
      bytes += size;
      count += 1;
    }
    bodies.push(body + METRICS_TAIL);
    return Promise.all(
      bodies.map((text) => {
        const encoded = encoder.encode(text);
        const keepalive = this.keepaliveInFlight + encoded.byteLength <= KEEPALIVE_BUDGET_BYTES;
        if (keepalive) this.keepaliveInFlight += encoded.byteLength;
        return this.transport
          .executeBody(encoded, {
            retryTimeoutMs: this.batchRetryTimeoutMs,
            background: true,
            keepalive,
          })
          .finally(() => {
            if (keepalive) this.keepaliveInFlight -= encoded.byteLength;
          });
      }),
    ).then(() => undefined);
  }

  /** Uploads bytes, a Blob (or File) or a ReadableStream of bytes to `path` under the run's
   * artifacts, with its sha256 (WebCrypto; the content is held in memory for it). */
  logArtifact(runId: string, path: string, source: WebArtifactSource): Promise<LoggedArtifact> {
    return this.files.upload(checkId('runId', runId), path, source);
  }
}
