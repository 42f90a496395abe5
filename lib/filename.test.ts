import { describe, expect, it } from 'vitest';
import { MAX_FILENAME_BYTES, safeFilename } from './filename.js';

describe('file names from clients', () => {
  it('drops control, bidi and zero-width characters and folder parts, keeping what a merchant reads', () => {
    expect(safeFilename('mug\u0000.jpg')).toBe('mug.jpg');
    expect(safeFilename('invoice\u202Egpj.exe')).toBe('invoicegpj.exe');
    expect(safeFilename('a\u2066b\u2069c\u200Bd\uFEFF.png')).toBe('abcd.png');
    expect(safeFilename('line\r\nbreak\t\t.png')).toBe('line break .png');
    expect(safeFilename('C:\\Users\\me\\Photos\\tasse rouge.jpg')).toBe('tasse rouge.jpg');
    expect(safeFilename('../../etc/passwd')).toBe('passwd');
    expect(safeFilename('Cafe\u0301 crème.JPG')).toBe('Café crème.JPG');
    expect(safeFilename('日本の湯呑み.webp')).toBe('日本の湯呑み.webp');
  });

  it('bounds the length in UTF-8 bytes on a character boundary, keeping the extension', () => {
    const long = safeFilename(`${'x'.repeat(10_000)}.jpeg`)!;
    expect(Buffer.byteLength(long)).toBe(MAX_FILENAME_BYTES);
    expect(long.endsWith('x.jpeg')).toBe(true);
    const wide = safeFilename(`${'湯'.repeat(200)}.png`)!;
    expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(MAX_FILENAME_BYTES);
    expect(wide).toMatch(/^湯+\.png$/);
  });

  it('gives no name when nothing readable is left', () => {
    for (const raw of ['', '   ', '\u0000\u202E', '/', 'a/..', undefined, 42]) expect(safeFilename(raw), String(raw)).toBeUndefined();
  });
});
