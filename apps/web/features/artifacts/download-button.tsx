'use client';

import { useDashboard } from '../../components/providers.tsx';
import { plainDownloadUrl } from './artifact-fetch.ts';

/**
 * Downloads a file or a directory archive with a plain link: the browser streams it to disk.
 * The workspace travels as `?ws=` (a link cannot send the `x-cairn-workspace` header).
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
  return (
    <a
      className="button"
      href={plainDownloadUrl(client, downloadUrl)}
      download={fileName}
      aria-label={label}
    >
      {text}
    </a>
  );
}
