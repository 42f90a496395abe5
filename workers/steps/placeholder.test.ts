import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA, thumbHashToRGBA } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { decodeSource } from './decode.js';
import { computePlaceholder, dominantColor } from './placeholder.js';
import type { DecodedImage } from './types.js';

const fixture = (name: string) => readFile(new URL(`../../test/fixtures/${name}`, import.meta.url));

/** A flat RGB(A) image of one colour. */
function flat(width: number, height: number, rgba: [number, number, number, number?]): DecodedImage {
  const channels = rgba[3] === undefined ? 3 : 4;
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i += channels) for (let c = 0; c < channels; c++) data[i + c] = rgba[c]!;
  return { data, width, height, channels, hasAlpha: channels === 4 };
}

describe('computePlaceholder', () => {
  it('returns a ThumbHash that decodes to a preview of the right shape and colour', async () => {
    const image = await decodeSource(await fixture('coffee.png'), { maxPixels: 1e7 });
    const { thumbhash, dominantColor: colour } = await computePlaceholder(image);

    const hash = Buffer.from(thumbhash, 'base64');
    expect(hash.length).toBeGreaterThan(5);
    expect(hash.length).toBeLessThanOrEqual(25);
    expect(thumbHashToApproximateAspectRatio(hash)).toBeCloseTo(600 / 400, 0);
    const preview = thumbHashToRGBA(hash);
    expect(Math.max(preview.w, preview.h)).toBeLessThanOrEqual(32);

    // The hash's average colour is close to the image's mean colour.
    const { channels } = await sharp(image.data, { raw: { width: 600, height: 400, channels: 3 } }).stats();
    const avg = thumbHashToAverageRGBA(hash);
    expect(Math.abs(avg.r * 255 - channels[0]!.mean)).toBeLessThan(12);
    expect(Math.abs(avg.g * 255 - channels[1]!.mean)).toBeLessThan(12);
    expect(Math.abs(avg.b * 255 - channels[2]!.mean)).toBeLessThan(12);
    expect(colour).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('returns the exact colour of a flat image, of any size', async () => {
    expect((await computePlaceholder(flat(1000, 10, [0x33, 0x66, 0xcc]))).dominantColor).toBe('#3366cc');
    expect((await computePlaceholder(flat(3, 5, [0xff, 0x80, 0x00]))).dominantColor).toBe('#ff8000');
  });

  it('stops when the signal is already aborted', async () => {
    const ctrl = new AbortController();
    ctrl.abort(new Error('cancelled'));
    await expect(computePlaceholder(flat(4, 4, [1, 2, 3]), ctrl.signal)).rejects.toThrow('cancelled');
  });
});

describe('dominantColor', () => {
  it('ignores transparent pixels however many there are', () => {
    // 90 transparent red pixels, 10 opaque blue ones: a cut-out product on nothing.
    const rgba = new Uint8Array(100 * 4);
    for (let p = 0; p < 100; p++) rgba.set(p < 90 ? [255, 0, 0, 0] : [0, 0, 255, 255], p * 4);
    expect(dominantColor(rgba)).toBe('#0000ff');
  });

  it('picks the most common colour, not the average', () => {
    const rgba = new Uint8Array(10 * 4);
    for (let p = 0; p < 10; p++) rgba.set(p < 6 ? [250, 250, 250, 255] : [10, 10, 10, 255], p * 4);
    expect(dominantColor(rgba)).toBe('#fafafa');
  });

  it('falls back to white when nothing is visible', () => {
    expect(dominantColor(new Uint8Array(16))).toBe('#ffffff');
  });
});
