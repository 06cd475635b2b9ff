/**
 * Artifact paths are relative POSIX paths under a run's root, validated once, after the URL has
 * been fully decoded (SECURITY.md, "Path traversal"). Storage keys are only ever built from paths
 * that passed `validateArtifactPath`.
 */

export const PATH_LIMITS = { maxBytes: 1024, maxSegmentBytes: 255 } as const;

/** A path the API refuses; the message says which rule it breaks. */
export class ArtifactPathError extends Error {
  override readonly name = 'ArtifactPathError';
}

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// A percent escape left after decoding: a double-encoded path (`%252e%252e` → `%2e%2e`).
const PERCENT_ESCAPE = /%[0-9a-f]{2}/iu;

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function check(path: string, what: string): void {
  if (byteLength(path) > PATH_LIMITS.maxBytes)
    throw new ArtifactPathError(
      `Artifact ${what} is longer than ${PATH_LIMITS.maxBytes} bytes (${byteLength(path)})`,
    );
  if (path.includes('\\'))
    throw new ArtifactPathError(`Artifact ${what} "${path}" contains a backslash; use "/"`);
  if (CONTROL.test(path))
    throw new ArtifactPathError(`Artifact ${what} contains a NUL or control character`);
  if (path.includes('\ufffd'))
    throw new ArtifactPathError(`Artifact ${what} is not valid UTF-8 once decoded`);
  if (PERCENT_ESCAPE.test(path))
    throw new ArtifactPathError(
      `Artifact ${what} "${path}" still contains a percent escape after decoding (encode a path once)`,
    );
  if (path.startsWith('/'))
    throw new ArtifactPathError(`Artifact ${what} "${path}" is absolute; give a relative path`);
  for (const segment of path.split('/')) {
    if (segment === '')
      throw new ArtifactPathError(`Artifact ${what} "${path}" has an empty segment ("//")`);
    if (segment === '.' || segment === '..')
      throw new ArtifactPathError(
        `Artifact ${what} "${path}" contains a "${segment}" segment; paths stay inside the run`,
      );
    if (byteLength(segment) > PATH_LIMITS.maxSegmentBytes)
      throw new ArtifactPathError(
        `Artifact ${what} has a segment longer than ${PATH_LIMITS.maxSegmentBytes} bytes`,
      );
  }
}

/** A file's path: non-empty, relative, normalised (no trailing "/"). Returns it unchanged. */
export function validateArtifactPath(path: string): string {
  if (path === '') throw new ArtifactPathError('Artifact path must not be empty');
  if (path.endsWith('/'))
    throw new ArtifactPathError(`Artifact path "${path}" ends with "/"; a file needs a name`);
  check(path, 'path');
  return path;
}

/** A directory's path: "" is the run's root; one trailing "/" is allowed and dropped. */
export function validateArtifactDir(path: string): string {
  const dir = path.endsWith('/') ? path.slice(0, -1) : path;
  if (dir === '') {
    if (path !== '') throw new ArtifactPathError('Artifact directory "/" is absolute; use ""');
    return '';
  }
  check(dir, 'directory');
  return dir;
}

/**
 * Decodes a percent-encoded URL path segment sequence exactly once. Malformed escapes are an
 * error, never passed through.
 */
export function decodeArtifactUrlPath(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new ArtifactPathError('Artifact path is not validly percent-encoded');
  }
}

/** Percent-encodes a path for a URL, keeping the "/" separators. */
export function encodeArtifactUrlPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
