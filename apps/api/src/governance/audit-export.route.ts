/**
 * GET /api/audit/export?format=jsonl|csv&actor=&type=…&domain=&stream=&from=&to= : the
 * workspace's audit log as a streamed download (docs/governance.md, "Export"). Its rule is
 * AUDIT_EXPORT_RULE in auth/http-rules.ts (workspace:admin, as `auditLog`).
 */
import type http from 'node:http';
import type { Logger } from '@cairn/logging';
import { AUDIT_EXPORT_RULE, authorizeRequest } from '../auth/http-rules.ts';
import { CairnError } from '../errors.ts';
import { buildContext, requestAuthOf } from '../http/graphql-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { exportAuditLog, exportFilter, parseExportFormat } from './audit-export.ts';

export const AUDIT_EXPORT_PATH = '/api/audit/export';

const STATUS: Partial<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
};

function fail(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full (back-pressure). */
async function write(res: http.ServerResponse, chunk: string): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', closed);
      resolve();
    };
    const closed = () => {
      res.off('drain', done);
      reject(new Error('client went away'));
    };
    res.once('drain', done);
    res.once('close', closed);
  });
}

export function createAuditExportRoute(deps: ServiceDeps, logger: Logger) {
  return (req: http.IncomingMessage, res: http.ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://cairn.invalid');
    if (url.pathname !== AUDIT_EXPORT_PATH) return false;
    req.resume();
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET');
      fail(res, 405, 'METHOD_NOT_ALLOWED', 'Use GET');
      return true;
    }
    void (async () => {
      let started = false;
      try {
        const ctx = buildContext(deps, req.headers, requestAuthOf(req));
        authorizeRequest(ctx, AUDIT_EXPORT_RULE, `GET ${AUDIT_EXPORT_PATH}`);
        const q = url.searchParams;
        const format = parseExportFormat(q.get('format'));
        const filter = exportFilter({
          actor: q.get('actor'),
          types: q.getAll('type'),
          domain: q.get('domain'),
          streamId: q.get('stream'),
          from: q.get('from'),
          to: q.get('to'),
        });
        const chunks = exportAuditLog(deps.db, ctx.workspaceId, filter, format);
        // The first page before the headers: a bad filter is still a 400.
        const first = await chunks.next();
        res.writeHead(200, {
          'content-type':
            format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
          'content-disposition': `attachment; filename="audit-${ctx.workspaceId}.${format}"`,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        started = true;
        if (!first.done) await write(res, first.value);
        for await (const chunk of chunks) await write(res, chunk);
        res.end();
      } catch (error) {
        if (started) {
          // Mid-stream: the download is cut short (no trailer in HTTP/1.1 to say so otherwise).
          logger.error('audit export failed mid-stream', error);
          res.destroy();
        } else if (error instanceof CairnError) {
          fail(res, STATUS[error.code] ?? 400, error.code, error.message);
        } else {
          logger.error('audit export failed', error);
          fail(res, 500, 'INTERNAL', 'Audit export failed');
        }
      }
    })();
    return true;
  };
}
