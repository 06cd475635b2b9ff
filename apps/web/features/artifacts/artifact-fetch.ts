'use client';

import type { DashboardClient } from '../../lib/graphql/client.ts';
import type { ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { DEFAULT_WORKSPACE } from '../../lib/workspace.ts';

/**
 * HTTP side of the artifact browser. The download routes take the workspace in the
 * `x-cairn-workspace` header, which an <img src> or a plain link cannot send: so previews are
 * fetched with the header, and images and downloads in a non-default workspace go through a
 * blob and an object URL.
 */

/** The API's error body (`{"error":{"code","message"}}`) or the HTTP status, as UI text. */
export async function responseError(res: Response): Promise<ApiErrorInfo> {
  let message = `HTTP ${res.status}`;
  let code: string | null = null;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.message) message = body.error.message;
    if (body.error?.code) code = body.error.code;
  } catch {
    // not JSON: keep the status
  }
  return { message, code, position: null, argument: null, network: false };
}

export function networkError(error: unknown): ApiErrorInfo {
  const text = error instanceof Error ? error.message : String(error);
  return {
    message: `Cannot reach the API: ${text}`,
    code: null,
    position: null,
    argument: null,
    network: true,
  };
}

/** Reads at most `max` bytes of a response body, then stops the download. */
export async function readPrefix(
  res: Response,
  max: number,
): Promise<{ bytes: Uint8Array; cut: boolean }> {
  if (!res.body) return { bytes: new Uint8Array(0), cut: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cut = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total >= max) {
      cut = total > max;
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(total, max));
  let offset = 0;
  for (const chunk of chunks) {
    const take = Math.min(chunk.length, bytes.length - offset);
    bytes.set(chunk.subarray(0, take), offset);
    offset += take;
    if (offset >= bytes.length) break;
  }
  return { bytes, cut };
}

/**
 * A URL the browser can open without headers: the download routes take the workspace as `?ws=`
 * when no `x-cairn-workspace` header comes with the request.
 */
export function plainDownloadUrl(client: DashboardClient, downloadUrl: string): string {
  const url = client.apiUrl(downloadUrl);
  if (client.workspace === DEFAULT_WORKSPACE) return url;
  return `${url}${url.includes('?') ? '&' : '?'}ws=${encodeURIComponent(client.workspace)}`;
}
