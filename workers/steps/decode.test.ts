import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { AppError, isPermanent } from '../../lib/errors.js';
import { decodeSource } from './decode.js';

const fixture = (name: string) => readFile(new URL(`../../test/fixtures/${name}`, import.meta.url));
const LIMITS = { maxPixels: 50_000_000 };

/** The pixel at (x, y) of a decoded image, as an array of channel values. */
const pixelAt = (img: { data: Buffer; width: number; channels: number }, x: number, y: number) => {
  const i = (y * img.width + x) * img.channels;
  return [...img.data.subarray(i, i + img.channels)];
};

/** Awaits a rejection and returns it as an AppError (failing the test if it is anything else). */
async function appError(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('decodeSource', () => {
  it('decodes a PNG and a JPEG to 8-bit RGB of the right size', async () => {
    const png = await decodeSource(await fixture('coffee.png'), LIMITS);
    expect(png).toMatchObject({ width: 600, height: 400, channels: 3, hasAlpha: false });
    expect(png.data.length).toBe(600 * 400 * 3);

    const jpg = await decodeSource(await fixture('HappyFish.jpg'), LIMITS);
    expect(jpg).toMatchObject({ width: 259, height: 194, channels: 3, hasAlpha: false });
  });

  it('applies EXIF orientation 6 (rotate 90° clockwise): dimensions swap and content turns', async () => {
    // Left half red, right half blue, stored landscape with "display rotated 90° CW".
    const stored = await sharp({ create: { width: 80, height: 40, channels: 3, background: '#0000ff' } })
      .composite([{ input: { create: { width: 40, height: 40, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(stored).metadata()).orientation).toBe(6);

    const img = await decodeSource(stored, LIMITS);
    expect([img.width, img.height]).toEqual([40, 80]);
    // Rotating clockwise moves the stored left edge to the top.
    const [r1, , b1] = pixelAt(img, 20, 10);
    const [r2, , b2] = pixelAt(img, 20, 70);
    expect(r1).toBeGreaterThan(200);
    expect(b1).toBeLessThan(60);
    expect(b2).toBeGreaterThan(200);
    expect(r2).toBeLessThan(60);
  });

  it('converts a Display P3 image to sRGB values', async () => {
    // sRGB pure green, converted into P3 numbers (about 117, 251, 76) with the P3 profile attached.
    const p3 = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#00ff00' } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const raw = await sharp(p3, { ignoreIcc: true }).raw().toBuffer();
    expect(raw[0]).toBeGreaterThan(90); // the file really holds P3 numbers, not sRGB ones

    const img = await decodeSource(p3, LIMITS);
    const [r, g, b] = pixelAt(img, 8, 8);
    expect(r).toBeLessThan(20);
    expect(g).toBeGreaterThan(245);
    expect(b).toBeLessThan(20);
  });

  describe('HEIC (decoded by libheif, then normalised like every other format)', () => {
    /** Mean absolute difference over the colour channels of two interleaved images. */
    const meanError = (a: Buffer, aChannels: number, b: Buffer, bChannels: number, pixels: number) => {
      let sum = 0;
      for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) sum += Math.abs(a[p * aChannels + c]! - b[p * bChannels + c]!);
      return sum / (pixels * 3);
    };

    it('decodes a HEIC photo to 8-bit RGB', async () => {
      const img = await decodeSource(await fixture('heic/coffee.heic'), LIMITS);
      expect(img).toMatchObject({ width: 600, height: 400, channels: 3, hasAlpha: false });
    });

    it('converts a Display P3 HEIC to sRGB through its embedded profile', async () => {
      // The file holds the coffee photo converted to P3 numbers, tagged with the P3 profile.
      const img = await decodeSource(await fixture('heic/coffee-p3.heic'), LIMITS);
      const srgb = await sharp(await fixture('coffee.png'))
        .resize(300)
        .removeAlpha()
        .raw()
        .toBuffer();
      const p3Numbers = await sharp(await fixture('coffee.png'))
        .resize(300)
        .removeAlpha()
        .withIccProfile('p3')
        .raw()
        .toBuffer();
      const converted = meanError(img.data, 3, srgb, 3, 300 * 200);
      // Read as sRGB without conversion, P3 numbers are off by this much; converted, only the
      // compression error (quality 60) remains.
      const unconverted = meanError(p3Numbers, 3, srgb, 3, 300 * 200);
      expect(unconverted).toBeGreaterThan(5);
      expect(converted).toBeLessThan(4);
    });

    it('keeps the alpha plane of a cut-out', async () => {
      const img = await decodeSource(await fixture('heic/mug-alpha.heic'), LIMITS);
      expect(img).toMatchObject({ width: 640, height: 640, channels: 4, hasAlpha: true });
      expect(pixelAt(img, 0, 0)[3]).toBe(0); // the corner is background in the mask
    });

    it('rejects a HEIC over the pixel limit as IMAGE_TOO_LARGE, a permanent failure', async () => {
      const err = await appError(decodeSource(await fixture('heic/coffee.heic'), { maxPixels: 1000 }));
      expect([err.code, isPermanent(err)]).toEqual(['IMAGE_TOO_LARGE', true]);
    });
  });

  it('turns 16-bit and greyscale input into 8-bit RGB', async () => {
    const rgb16 = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 128, g: 64, b: 200 } } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    expect((await sharp(rgb16).metadata()).depth).toBe('ushort');
    const a = await decodeSource(rgb16, LIMITS);
    expect(a.channels).toBe(3);
    expect(pixelAt(a, 1, 1)).toEqual([128, 64, 200]);

    const grey = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const g = await decodeSource(grey, LIMITS);
    expect(g.channels).toBe(3);
    expect(pixelAt(g, 0, 0)).toEqual([128, 128, 128]);
  });

  it('keeps a real alpha channel and drops one that is opaque everywhere', async () => {
    const translucent = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const t = await decodeSource(translucent, LIMITS);
    expect(t).toMatchObject({ channels: 4, hasAlpha: true });
    expect(pixelAt(t, 0, 0)[3]).toBe(128);

    const opaque = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 1 } } })
      .png()
      .toBuffer();
    const o = await decodeSource(opaque, LIMITS);
    expect(o).toMatchObject({ channels: 3, hasAlpha: false });
    expect(pixelAt(o, 7, 7)).toEqual([0, 0, 255]);
  });

  it('rejects a truncated JPEG as CORRUPT_IMAGE, a permanent failure', async () => {
    const jpg = await fixture('HappyFish.jpg');
    const err = await appError(decodeSource(jpg.subarray(0, Math.floor(jpg.length * 0.6)), LIMITS));
    expect(err.code).toBe('CORRUPT_IMAGE');
    expect(err.status).toBe(422);
    expect(isPermanent(err)).toBe(true);
  });

  it('rejects images over the pixel limit as IMAGE_TOO_LARGE', async () => {
    const err = await appError(decodeSource(await fixture('coffee.png'), { maxPixels: 600 * 400 - 1 }));
    expect(err.code).toBe('IMAGE_TOO_LARGE');
    expect(isPermanent(err)).toBe(true);
    // Exactly at the limit is fine.
    await expect(decodeSource(await fixture('coffee.png'), { maxPixels: 600 * 400 })).resolves.toMatchObject({ width: 600 });
  });

  it('rejects bytes that are not an image, and empty input', async () => {
    expect((await appError(decodeSource(Buffer.from('this is not an image'), LIMITS))).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await appError(decodeSource(Buffer.alloc(0), LIMITS))).code).toBe('EMPTY_UPLOAD');
  });

  it('stops when the signal is already aborted', async () => {
    const ctrl = new AbortController();
    ctrl.abort(new Error('job cancelled'));
    await expect(decodeSource(await fixture('coffee.png'), LIMITS, ctrl.signal)).rejects.toThrow('job cancelled');
  });
});
