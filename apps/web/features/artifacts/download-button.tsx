'use client';

import { useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { networkError, plainDownloadUrl, responseError, saveBlob } from './artifact-fetch.ts';

/**
 * Downloads a file or a directory archive. In the default workspace it is a plain link (the
 * browser streams it to disk). In another workspace the route needs the `x-cairn-workspace`
 * header, which a link cannot send: the file is fetched with the header and saved from a blob.
 */
export function DownloadButton({
  downloadUrl,
  fileName,
  label,
  text,
}: {
  downloadUrl: string;
  fileName: string;
  label: string;
  text: string;
}) {
  const client = useDashboard();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const href = plainDownloadUrl(client, downloadUrl);
  if (href)
    return (
      <a className="button" href={href} download={fileName} aria-label={label}>
        {text}
      </a>
    );
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const res = await client.apiFetch(downloadUrl);
      if (!res.ok) setError((await responseError(res)).message);
      else saveBlob(await res.blob(), fileName);
    } catch (e) {
      setError(networkError(e).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="field">
      <button type="button" onClick={() => void download()} disabled={busy} aria-label={label}>
        {busy ? 'Downloading…' : text}
      </button>
      {error && (
        <span className="error-text" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
