import { describe, expect, it } from 'vitest';
import {
  ArtifactPathError,
  decodeArtifactUrlPath,
  encodeArtifactUrlPath,
  validateArtifactDir,
  validateArtifactPath,
} from '../src/index.ts';

const refused = (path: string) =>
  expect(() => validateArtifactPath(path), path).toThrow(ArtifactPathError);

describe('artifact paths', () => {
  it('accepts relative POSIX paths unchanged', () => {
    for (const p of [
      'a',
      'model/model.pkl',
      'dir/sub dir/ü.txt',
      '.hidden',
      'a..b',
      `${'x'.repeat(255)}`,
    ])
      expect(validateArtifactPath(p)).toBe(p);
  });

  it('refuses traversal, absolute, backslash, control characters, escapes and long paths', () => {
    for (const p of [
      '',
      '..',
      '../a',
      'a/../b',
      'a/..',
      './a',
      'a/./b',
      '/etc/passwd',
      '//host/share',
      'a\\..\\b',
      'C:\\x',
      'a\u0000b',
      'a\nb',
      'a\u007fb',
      'a//b',
      'dir/',
      '%2e%2e/x',
      'a%2Fb',
      'x'.repeat(256),
      `${'abcdefgh/'.repeat(114)}z`,
      'bad\ufffd',
    ])
      refused(p);
  });

  it('decodes a URL path exactly once', () => {
    expect(decodeArtifactUrlPath('a%20b/c%2Fd')).toBe('a b/c/d');
    // Double encoding decodes to a literal escape, which validation then refuses.
    expect(() => validateArtifactPath(decodeArtifactUrlPath('%252e%252e/x'))).toThrow(
      ArtifactPathError,
    );
    expect(() => decodeArtifactUrlPath('%E0%A4%A')).toThrow(ArtifactPathError);
    expect(encodeArtifactUrlPath('dir/a b#?.txt')).toBe('dir/a%20b%23%3F.txt');
  });

  it('accepts directories with "" as the root and one trailing slash', () => {
    expect(validateArtifactDir('')).toBe('');
    expect(validateArtifactDir('model/')).toBe('model');
    expect(validateArtifactDir('model/data')).toBe('model/data');
    for (const d of ['/', '..', 'a/../b', '/abs', 'a//'])
      expect(() => validateArtifactDir(d), d).toThrow(ArtifactPathError);
  });
});
