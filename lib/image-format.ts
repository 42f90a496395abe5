import { nameTable } from './own-keys.js';

/** Formats accepted as originals, identified from their bytes (never the name or declared type). */
export type SourceFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'heic' | 'tiff' | 'gif';

export const EXTENSIONS = nameTable<Record<SourceFormat, string>>({
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  avif: 'avif',
  heic: 'heic',
  tiff: 'tif',
  gif: 'gif',
});

/** ISO-BMFF brands of HEVC-coded HEIF (iPhone photos); `mif1`/`msf1` are the generic HEIF brands. */
const HEIC_BRANDS = /heic|heix|hevc|hevx|heim|heis|mif1|msf1/;

/** Identify a format from the first 64 bytes of a file; `undefined` when it is none we accept. */
export function sniffFormat(head: Uint8Array): SourceFormat | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, 64));
  const ascii = (start: number, end: number) => bytes.subarray(start, end).toString('latin1');
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff';
  if (ascii(4, 8) === 'ftyp') {
    // Major brand, minor version, then compatible brands, up to the end of the ftyp box.
    const brands = ascii(8, Math.min(bytes.length, bytes.readUInt32BE(0)));
    // AV1-coded HEIF (AVIF) is read by libvips; HEVC-coded HEIF goes through libheif (lib/heic/).
    if (/avif|avis/.test(brands)) return 'avif';
    if (HEIC_BRANDS.test(brands)) return 'heic';
  }
  return undefined;
}
