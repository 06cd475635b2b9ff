/**
 * The artifact browser's pure parts: what kind of preview a file gets, decoding the first bytes
 * of a file, a CSV/TSV reader for the table preview, sizes and paths.
 */

/** Text, JSON and table previews read at most this many bytes (one Range request). */
export const PREVIEW_BYTES = 1024 * 1024;
export const PREVIEW_RANGE = `bytes=0-${PREVIEW_BYTES - 1}`;
/** Images larger than this are not previewed (the whole file is fetched for an image). */
export const MAX_IMAGE_PREVIEW_BYTES = 25 * 1024 * 1024;
/** Rows a table preview shows. */
export const MAX_TABLE_ROWS = 1000;

export type PreviewKind = 'text' | 'json' | 'image' | 'table' | 'binary' | 'unknown';

const IMAGE = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'svg', 'bmp', 'ico', 'avif']);
const JSON_EXT = new Set(['json', 'ipynb', 'geojson']);
const TABLE = new Set(['csv', 'tsv']);
const TEXT = new Set([
  'txt',
  'log',
  'md',
  'markdown',
  'rst',
  'yaml',
  'yml',
  'toml',
  'ini',
  'cfg',
  'conf',
  'py',
  'r',
  'sh',
  'js',
  'ts',
  'sql',
  'xml',
  'html',
  'htm',
  'css',
  'jsonl',
  'ndjson',
  'env',
  'properties',
  'tex',
  'diff',
  'patch',
]);
const TEXT_NAMES = new Set([
  'mlmodel',
  'cairnmodel',
  'dockerfile',
  'makefile',
  'license',
  'readme',
  'requirements',
  'conda',
]);
const BINARY = new Set([
  'pkl',
  'pickle',
  'joblib',
  'pt',
  'pth',
  'ckpt',
  'bin',
  'onnx',
  'h5',
  'hdf5',
  'npy',
  'npz',
  'parquet',
  'feather',
  'arrow',
  'safetensors',
  'zip',
  'gz',
  'tgz',
  'tar',
  'bz2',
  'xz',
  'zst',
  '7z',
  'pdf',
  'so',
  'dylib',
  'dll',
  'exe',
  'whl',
  'mp4',
  'mp3',
  'wav',
  'ubj',
  'model',
]);

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** The preview a file gets from its name: `unknown` means "look at its first bytes". */
export function previewKind(name: string): PreviewKind {
  const ext = extensionOf(name);
  if (IMAGE.has(ext)) return 'image';
  if (JSON_EXT.has(ext)) return 'json';
  if (TABLE.has(ext)) return 'table';
  if (TEXT.has(ext)) return 'text';
  if (BINARY.has(ext)) return 'binary';
  const base = (ext ? name.slice(0, name.length - ext.length - 1) : name).toLowerCase();
  if (TEXT_NAMES.has(base) || TEXT_NAMES.has(name.toLowerCase())) return 'text';
  return 'unknown';
}

/** A NUL byte in the first 8,000 bytes, or many bytes that are not text: not text. */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8000);
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return true;
    if (b < 7 || (b > 13 && b < 32 && b !== 27)) odd++;
  }
  return n > 0 && odd / n > 0.1;
}

/**
 * The bytes as UTF-8 text. When the file was cut (`truncated`), an incomplete character at the
 * end is dropped rather than shown as a replacement character.
 */
export function decodeText(bytes: Uint8Array, truncated: boolean): string {
  let end = bytes.length;
  if (truncated) {
    // Back up over continuation bytes to the start of the last character; drop it if incomplete.
    let i = end - 1;
    while (i >= 0 && i > end - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
    if (i >= 0) {
      const lead = bytes[i]!;
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      if (end - i < need) end = i;
    }
  }
  return new TextDecoder('utf-8').decode(bytes.subarray(0, end));
}

export interface DelimitedTable {
  header: string[];
  rows: string[][];
  /** More rows exist than are shown (the row limit, or the preview's byte limit). */
  more: boolean;
}

/**
 * Reads CSV/TSV (RFC 4180 quoting: "a ""b""", newlines inside quotes) into a header and at most
 * `maxRows` rows. When `truncated`, the text is a prefix of the file and its last (possibly
 * partial) row is dropped.
 */
export function parseDelimited(
  text: string,
  delimiter: string,
  maxRows = MAX_TABLE_ROWS,
  truncated = false,
): DelimitedTable {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  const limit = maxRows + 2; // header + rows + one to know there are more
  const endRecord = () => {
    record.push(field);
    field = '';
    records.push(record);
    record = [];
  };
  while (i < text.length && records.length < limit) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === delimiter) {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
    } else field += c;
    i++;
  }
  // The text ended inside a record: complete if the file ended there, partial (dropped) if cut.
  if (records.length < limit && !truncated && (field !== '' || record.length > 0)) endRecord();
  const [header = [], ...rest] = records;
  const more = rest.length > maxRows || truncated;
  return { header, rows: rest.slice(0, maxRows), more };
}

export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined || !Number.isFinite(Number(size))) return '—';
  const n = Number(size);
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** `a/b/c.txt` → `a/b`; a top-level path → ''. */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Every ancestor directory of a path, outermost first: `a/b/c.txt` → ['a', 'a/b']. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** The archive URL of a run's whole artifact tree (the contract's "empty path"). */
export function rootArchiveUrl(runId: string): string {
  return `/api/runs/${encodeURIComponent(runId)}/artifacts/?archive=tar.gz`;
}

/** A file name for a directory's archive: `model` → `model.tar.gz`, the root → `<run>.tar.gz`. */
export function archiveName(dirPath: string, runId: string): string {
  const base = dirPath ? dirPath.slice(dirPath.lastIndexOf('/') + 1) : `run-${runId}-artifacts`;
  return `${base}.tar.gz`;
}

/** JSON pretty-printed with 2 spaces, or null when it does not parse. */
export function prettyJson(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text) as unknown, null, 2);
  } catch {
    return null;
  }
}
