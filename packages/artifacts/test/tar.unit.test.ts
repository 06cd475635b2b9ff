import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tarStream, type TarEntry } from '../src/index.ts';

async function collect(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const entry = (name: string, data: Buffer): TarEntry => ({
  name,
  size: data.length,
  mtime: new Date('2026-11-26T08:00:00Z'),
  open: () => Promise.resolve([data.subarray(0, 7), data.subarray(7)]),
});

describe('tarStream', () => {
  it('writes archives that the system tar reads back (long names via pax, empty files)', async () => {
    const long = `${'deep/'.repeat(30)}${'n'.repeat(120)}.bin`;
    const files: [string, Buffer][] = [
      ['a.txt', Buffer.from('hello')],
      ['dir/ü nicode.json', Buffer.from('{}')],
      [long, randomBytes(1500)],
      ['empty', Buffer.alloc(0)],
    ];
    const archive = await collect(files.map(([n, d]) => entry(n, d)));
    expect(archive.length % 512).toBe(0);
    const listed = execFileSync('tar', ['-tf', '-'], { input: archive })
      .toString()
      .trim()
      .split('\n');
    expect(listed).toEqual(files.map(([n]) => n));
    for (const [name, data] of files) {
      const out = execFileSync('tar', ['-xOf', '-', name], { input: archive });
      expect(out.equals(data), name).toBe(true);
    }
  });

  it('fails when an entry yields a different number of bytes than announced', async () => {
    const liar: TarEntry = { ...entry('x', Buffer.from('abc')), size: 5 };
    await expect(collect([liar])).rejects.toThrow(/ended after 3 of 5 bytes/);
  });
});
