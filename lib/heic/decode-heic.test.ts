import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { heicClaimingSize } from '../../test/e2e/hostile-images.js';
import { AppError, isPermanent } from '../errors.js';
import { decodeHeic, DecoderPool } from './decode-heic.js';

/** Real HEIC files made by heif-enc (x265) from the PNG fixtures: see test/fixtures/heic/make-fixtures.ts. */
const fixture = (name: string) => readFile(new URL(`../../test/fixtures/${name}`, import.meta.url));
const LIMITS = { maxPixels: 100_000_000 };

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** Peak signal-to-noise ratio over the colour channels of two interleaved images. */
function psnr(a: Buffer, aChannels: number, b: Buffer, bChannels: number, pixels: number): number {
  let squared = 0;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) squared += (a[p * aChannels + c]! - b[p * bChannels + c]!) ** 2;
  }
  return 10 * Math.log10((255 * 255) / (squared / (pixels * 3)));
}

describe('decodeHeic', () => {
  it('decodes a HEIC photo to the pixels it was encoded from', async () => {
    const heic = await decodeHeic(await fixture('heic/coffee.heic'), LIMITS, { pixels: true });
    expect(heic).toMatchObject({ width: 600, height: 400, hasAlpha: false, images: 1 });
    expect(heic.rgba!.length).toBe(600 * 400 * 4);
    const source = await sharp(await fixture('coffee.png'))
      .removeAlpha()
      .raw()
      .toBuffer();
    // Quality 50 HEVC: about 35 dB. A wrong plane order, chroma siting or matrix would be far lower.
    expect(psnr(heic.rgba!, 4, source, 3, 600 * 400)).toBeGreaterThan(32);
  });

  it('assembles a tile grid cropped at its edges and applies its rotation, as iPhones store photos', async () => {
    // Two 256x256 HEVC tiles, a 500x250 grid, and irot: a quarter turn anticlockwise.
    const heic = await decodeHeic(await fixture('heic/grid-rotated.heic'), LIMITS, { pixels: true });
    expect(heic).toMatchObject({ width: 250, height: 500, images: 1 });
    const landscape = await sharp(await fixture('coffee.png'))
      .resize(512, 256, { fit: 'fill' })
      .extract({ left: 0, top: 0, width: 500, height: 250 })
      .png()
      .toBuffer();
    const expected = await sharp(landscape).rotate(270).removeAlpha().raw().toBuffer();
    expect(psnr(heic.rgba!, 4, expected, 3, 250 * 500)).toBeGreaterThan(30);
  });

  it('keeps the alpha plane of a cut-out', async () => {
    const heic = await decodeHeic(await fixture('heic/mug-alpha.heic'), LIMITS, { pixels: true });
    expect(heic).toMatchObject({ width: 640, height: 640, hasAlpha: true });
    const mask = await sharp(await fixture('d02_mug_woodtable.mask.png'))
      .extractChannel(0)
      .raw()
      .toBuffer();
    let error = 0;
    for (let p = 0; p < mask.length; p++) error += Math.abs(mask[p]! - heic.rgba![p * 4 + 3]!);
    expect(error / mask.length).toBeLessThan(1);
  });

  it('decodes 10-bit HEIC to 8 bits per channel', async () => {
    const heic = await decodeHeic(await fixture('heic/coffee-10bit.heic'), LIMITS, { pixels: true });
    expect(heic.rgba!.length).toBe(300 * 200 * 4);
    const source = await sharp(await fixture('coffee.png'))
      .resize(300)
      .removeAlpha()
      .raw()
      .toBuffer();
    expect(psnr(heic.rgba!, 4, source, 3, 300 * 200)).toBeGreaterThan(30);
  });

  it('hands back the embedded ICC profile, for the caller to convert from', async () => {
    const heic = await decodeHeic(await fixture('heic/coffee-p3.heic'), LIMITS, { pixels: false });
    // Byte for byte the profile sharp embeds for 'p3', which make-fixtures.ts gave the source PNG.
    const tagged = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    expect(heic.icc).toEqual((await sharp(tagged).metadata()).icc);
    expect((await decodeHeic(await fixture('heic/coffee.heic'), LIMITS, { pixels: false })).icc).toBeUndefined();
  });

  it('decodes without sending pixels back when only a check is wanted', async () => {
    const heic = await decodeHeic(await fixture('heic/coffee.heic'), LIMITS, { pixels: false });
    expect(heic).toMatchObject({ width: 600, height: 400 });
    expect(heic.rgba).toBeUndefined();
  });

  it('refuses a decompression bomb from its header, with the dimensions it claims', async () => {
    // The real 600x400 file whose header claims 20000x20000: decoding would not even match it.
    const bomb = heicClaimingSize(await fixture('heic/coffee.heic'), 20000, 20000);
    const err = await refusal(decodeHeic(bomb, LIMITS, { pixels: true }));
    expect([err.status, err.code]).toEqual([422, 'IMAGE_TOO_LARGE']);
    expect(err.details).toEqual({ width: 20000, height: 20000, maxPixels: 100_000_000 });
    expect(isPermanent(err)).toBe(true);
  });

  it('refuses a file with more images than allowed, and decodes its primary image otherwise', async () => {
    const burst = await fixture('heic/burst-2.heic');
    const err = await refusal(decodeHeic(burst, { ...LIMITS, maxImages: 1 }, { pixels: false }));
    expect([err.code, err.details]).toEqual(['IMAGE_TOO_LARGE', { frames: 2, maxFrames: 1 }]);
    expect(await decodeHeic(burst, LIMITS, { pixels: false })).toMatchObject({ width: 64, images: 2 });
  });

  it("refuses truncated and non-HEIF bytes as CORRUPT_IMAGE, naming libheif's reason", async () => {
    const whole = await fixture('heic/coffee.heic');
    const truncated = await refusal(decodeHeic(whole.subarray(0, Math.floor(whole.length * 0.6)), LIMITS, { pixels: false }));
    expect([truncated.status, truncated.code]).toEqual([422, 'CORRUPT_IMAGE']);
    expect(truncated.details!.reason).toMatch(/end of file|outside of file/i);
    const png = await refusal(decodeHeic(await fixture('coffee.png'), LIMITS, { pixels: false }));
    expect(png.code).toBe('CORRUPT_IMAGE');
  });

  it('stops a decode that outlives its deadline, as IMAGE_TOO_LARGE, and decodes the next one on a new thread', async () => {
    const bytes = await fixture('heic/coffee.heic');
    // 1 ms: not even a warm thread answers that fast, so the deadline always wins.
    const err = await refusal(decodeHeic(bytes, { ...LIMITS, timeoutSeconds: 0.001 }, { pixels: true }));
    expect([err.code, err.details]).toEqual(['IMAGE_TOO_LARGE', { decodeTimeoutSeconds: 0.001 }]);
    expect(await decodeHeic(bytes, LIMITS, { pixels: false })).toMatchObject({ width: 600, height: 400 });
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    const decoding = decodeHeic(await fixture('heic/coffee.heic'), LIMITS, { pixels: true, signal: controller.signal });
    controller.abort(new Error('job cancelled'));
    await expect(decoding).rejects.toThrow('job cancelled');
  });

  it('refuses a decode with a retryable 503 when too many already wait for a thread', async () => {
    const pool = new DecoderPool(1, 1, 1000); // one thread, one decode may wait
    const request = { bytes: await fixture('heic/coffee.heic'), maxPixels: 100_000_000, maxImages: 1, pixels: false };
    const running = pool.run(request, 0);
    const waiting = pool.run(request, 0);
    const refused = await refusal(pool.run(request, 0));
    expect([refused.status, refused.code, refused.details]).toEqual([503, 'SERVICE_UNAVAILABLE', { heicDecodesWaiting: 1 }]);
    expect(isPermanent(refused)).toBe(false);
    expect([(await running).ok, (await waiting).ok]).toEqual([true, true]);
  });

  it('answers every one of more decodes at once than it runs in parallel', async () => {
    const bytes = await fixture('heic/coffee.heic');
    const widths = await Promise.all(Array.from({ length: 5 }, async () => (await decodeHeic(bytes, LIMITS, { pixels: false })).width));
    expect(widths).toEqual([600, 600, 600, 600, 600]);
  });
});
