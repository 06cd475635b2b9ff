/**
 * A streaming tar writer (POSIX ustar with pax extended headers for long names and large sizes):
 * entries are produced one after the other from their own streams, nothing is held in memory
 * beyond one header. Used for directory downloads (`?archive=tar.gz`, gzip applied by the caller).
 */

const BLOCK = 512;
const MAX_USTAR_SIZE = 0o77777777777; // 11 octal digits

export interface TarEntry {
  /** Relative POSIX path inside the archive. */
  name: string;
  size: number;
  /** Modification time. */
  mtime: Date;
  /** The entry's bytes; must yield exactly `size` bytes. */
  open: () => Promise<AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>>;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mtime: Date, type: '0' | 'x'): Buffer {
  const block = Buffer.alloc(BLOCK, 0);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(type === 'x' ? 0o644 : 0o644, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii');
  block.write(octal(0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 'ascii');
  return block;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest, 0);
}

/** Yields the tar stream of `entries`, in order. */
export async function* tarStream(
  entries: AsyncIterable<TarEntry> | Iterable<TarEntry>,
): AsyncGenerator<Buffer> {
  for await (const entry of entries) {
    const records: string[] = [];
    if (Buffer.byteLength(entry.name) > 100) records.push(paxRecord('path', entry.name));
    if (entry.size > MAX_USTAR_SIZE) records.push(paxRecord('size', String(entry.size)));
    if (records.length > 0) {
      const pax = Buffer.from(records.join(''), 'utf8');
      yield header('PaxHeader', pax.length, entry.mtime, 'x');
      yield pax;
      yield padding(pax.length);
    }
    const shortName = Buffer.from(entry.name).subarray(0, 100).toString('utf8');
    yield header(
      shortName.replace(/\ufffd+$/u, ''),
      entry.size > MAX_USTAR_SIZE ? 0 : entry.size,
      entry.mtime,
      '0',
    );
    let written = 0;
    for await (const chunk of await entry.open()) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      written += buf.length;
      if (written > entry.size)
        throw new Error(`tar: ${entry.name} is longer than ${entry.size} bytes`);
      yield buf;
    }
    if (written !== entry.size)
      throw new Error(`tar: ${entry.name} ended after ${written} of ${entry.size} bytes`);
    yield padding(entry.size);
  }
  yield Buffer.alloc(BLOCK * 2, 0);
}
