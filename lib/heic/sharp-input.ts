import { crc32, deflateSync } from 'node:zlib';
import sharp, { type SharpOptions } from 'sharp';
import type { HeicImage } from './decode-heic.js';

/**
 * A decoded HEIC as input for sharp. Without a profile it is raw RGBA. With one (iPhones tag
 * Display P3) the pixels go into a PNG that carries the profile, so sharp converts from it to sRGB
 * exactly as it does for a tagged JPEG: sharp has no way to attach an input profile to raw pixels.
 */
export async function heicSharpInput(heic: HeicImage & { rgba: Buffer }): Promise<{ input: Buffer; options: SharpOptions }> {
  const raw = { width: heic.width, height: heic.height, channels: 4 as const };
  if (!heic.icc) return { input: heic.rgba, options: { raw } };
  // Level 0: the PNG is read once, straight back, so compressing it would only cost time.
  const png = await sharp(heic.rgba, { raw }).png({ compressionLevel: 0, adaptiveFiltering: false }).toBuffer();
  return { input: withIccProfile(png, heic.icc), options: {} };
}

/** The PNG with an iCCP chunk holding `icc`, placed right after IHDR as the PNG spec requires. */
export function withIccProfile(png: Buffer, icc: Buffer): Buffer {
  const IHDR_END = 8 + 8 + 13 + 4; // signature, IHDR length+type, its 13 bytes, CRC
  if (png.subarray(12, 16).toString('latin1') !== 'IHDR') throw new Error('not a PNG: IHDR is not first');
  const body = Buffer.concat([Buffer.from('icc\0\0', 'latin1'), deflateSync(icc)]); // name, NUL, method 0
  const chunk = Buffer.alloc(12 + body.length);
  chunk.writeUInt32BE(body.length, 0);
  chunk.write('iCCP', 4, 'latin1');
  body.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + body.length)), 8 + body.length);
  return Buffer.concat([png.subarray(0, IHDR_END), chunk, png.subarray(IHDR_END)]);
}
