import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { decodeSource } from './decode.js';
import { ENCODER_SETTINGS, planWidths, renderResponsiveSet } from './responsive-set.js';
import { OUTPUT_FORMATS, type DecodedImage, type EncodedVariant } from './types.js';

const fixture = (name: string) => readFile(new URL(`../../test/fixtures/${name}`, import.meta.url));
const LIMITS = { maxPixels: 50_000_000 };
const ALL = [...OUTPUT_FORMATS];

/** What sharp reports a format as: AVIF is a HEIF container with AV1 inside. */
const SHARP_FORMAT = { avif: 'heif', webp: 'webp', jpeg: 'jpeg' } as const;

/**
 * Mean absolute difference (0–255) between a variant and the source, both reduced to 32px RGB on
 * white: a crude perceptual distance that catches wrong content, colour or orientation, not
 * encoder noise.
 */
async function distance(variant: Buffer, source: Buffer): Promise<number> {
  const small = (b: Buffer) =>
    sharp(b, { autoOrient: true }).flatten({ background: '#ffffff' }).resize(32, 32, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const [a, b] = await Promise.all([small(variant), small(source)]);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

const byFormat = (variants: EncodedVariant[], format: string) => variants.filter((v) => v.format === format);

describe('planWidths', () => {
  it('caps at the source width, de-duplicates and sorts', () => {
    expect(planWidths({ width: 1000, height: 800 }, [1280, 320, 640, 320, 960, 1920])).toEqual([320, 640, 960, 1000]);
    expect(planWidths({ width: 3000, height: 2000 }, [2560, 320, 640])).toEqual([320, 640, 2560]);
  });

  it('emits exactly the source width when every requested width is larger', () => {
    expect(planWidths({ width: 259, height: 194 }, [320, 640, 960])).toEqual([259]);
  });

  it('refuses non-positive, fractional and missing widths as INVALID_RECIPE', () => {
    for (const widths of [[0], [-320], [320.5], [], [Number.NaN]]) {
      expect(() => planWidths({ width: 1000, height: 800 }, widths)).toThrow(AppError);
      try {
        planWidths({ width: 1000, height: 800 }, widths);
      } catch (err) {
        expect((err as AppError).code).toBe('INVALID_RECIPE');
      }
    }
  });
});

describe("tall and wide images against the encoders' limits", () => {
  /** A flat-colour raw image: cheap to make at any size, and what the encoders see after decoding. */
  const flat = (width: number, height: number): DecodedImage => ({
    data: Buffer.alloc(width * height * 3, 200),
    width,
    height,
    channels: 3,
    hasAlpha: false,
  });

  it('renders an 800x17000 infographic in every format, made narrower so no side passes 16383 px', async () => {
    const set = await renderResponsiveSet(flat(800, 17000), { widths: [320, 2560], formats: ALL });
    expect(set.variants.map((v) => [v.format, v.width, v.height])).toEqual([
      ['avif', 320, 6800],
      ['avif', 770, 16363],
      ['webp', 320, 6800],
      ['webp', 770, 16363],
      ['jpeg', 320, 6800],
      ['jpeg', 770, 16363],
    ]);
    for (const v of set.variants) expect((await sharp(v.data).metadata()).height).toBe(v.height);
  });

  it('keeps the whole height where only JPEG is asked for, and caps wide images too', () => {
    expect(planWidths({ width: 800, height: 17000 }, [2560], ['jpeg'])).toEqual([800]);
    expect(planWidths({ width: 20000, height: 1 }, [320, 8192])).toEqual([320, 8192]);
    expect(planWidths({ width: 2, height: 20000 }, [320])).toEqual([1]);
  });

  it('refuses a strip too thin for any rendition (1x20000) as EXTREME_ASPECT_RATIO, never INTERNAL', async () => {
    const refused = await renderResponsiveSet(flat(1, 20000), { widths: [320], formats: ALL }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect([(refused as AppError).status, (refused as AppError).code]).toEqual([422, 'EXTREME_ASPECT_RATIO']);
  });
});

describe('ENCODER_SETTINGS', () => {
  it('has a version that changes whenever the settings do', () => {
    // Rendition keys include ENCODER_SETTINGS; changing a setting without bumping `version` would
    // let old and new bytes share a name. If this fails: bump `version`, then update the pair here.
    const { version, ...settings } = ENCODER_SETTINGS;
    const fingerprint = createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 16);
    expect({ version, fingerprint }).toEqual({ version: 'responsive-set/2', fingerprint: 'fb7cc81f6ca2e046' });
  });
});

describe('renderResponsiveSet', () => {
  it('renders every capped width in every format, with the right format and size', async () => {
    const source = await fixture('coffee.png');
    const image = await decodeSource(source, LIMITS);
    const set = await renderResponsiveSet(image, { widths: [960, 320, 640, 320], formats: ALL });

    expect(set).toMatchObject({ width: 600, height: 400, hasAlpha: false });
    expect(set.variants.map((v) => `${v.format}@${v.width}x${v.height}`)).toEqual([
      'avif@320x213',
      'avif@600x400',
      'webp@320x213',
      'webp@600x400',
      'jpeg@320x213',
      'jpeg@600x400',
    ]);
    for (const v of set.variants) {
      const meta = await sharp(v.data).metadata();
      expect(meta.format).toBe(SHARP_FORMAT[v.format]);
      if (v.format === 'avif') expect(meta.compression).toBe('av1');
      expect([meta.width, meta.height]).toEqual([v.width, v.height]);
      expect(meta.hasAlpha).toBe(false);
      expect(await distance(v.data, source)).toBeLessThan(6);
    }
    expect(set.thumbhash).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(set.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('resizes a width from one at least twice as wide, at the height of the source proportions', async () => {
    // 600x400 photo: 100 is made from 300 (and 300 from the decoded image); 150 from 300 too.
    const source = await fixture('coffee.png');
    const image = await decodeSource(source, LIMITS);
    const set = await renderResponsiveSet(image, { widths: [100, 150, 300, 301], formats: ['webp'] });
    expect(set.variants.map((v) => `${v.width}x${v.height}`)).toEqual(['100x67', '150x100', '300x200', '301x201']);
    for (const v of set.variants) expect(await distance(v.data, source)).toBeLessThan(6);
  });

  it('renders only the requested formats, and only the source width for a small source', async () => {
    const image = await decodeSource(await fixture('HappyFish.jpg'), LIMITS);
    const set = await renderResponsiveSet(image, { widths: [320, 640], formats: ['webp'] });
    expect(set.variants.map((v) => `${v.format}@${v.width}x${v.height}`)).toEqual(['webp@259x194']);
  });

  it('strips EXIF (GPS included), XMP and ICC from every output and applies the orientation', async () => {
    const source = await sharp(await fixture('HappyFish.jpg'))
      .jpeg({ quality: 92 })
      .withMetadata({ orientation: 6 })
      .withExifMerge({
        IFD0: { Make: 'TestCam', Model: 'GPS-1', Copyright: 'secret' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
      })
      .toBuffer();
    const inMeta = await sharp(source).metadata();
    expect(inMeta.exif?.toString('latin1')).toContain('TestCam'); // the fixture really carries EXIF
    expect(inMeta.orientation).toBe(6);

    const set = await renderResponsiveSet(await decodeSource(source, LIMITS), { widths: [100, 320], formats: ALL });
    expect(set).toMatchObject({ width: 194, height: 259 });
    expect(set.variants).toHaveLength(6);
    for (const v of set.variants) {
      const meta = await sharp(v.data).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(meta.height).toBeGreaterThan(meta.width!); // portrait after rotation
      expect(v.data.includes('TestCam')).toBe(false);
      expect(await distance(v.data, source)).toBeLessThan(8);
    }
  });

  it('converts a non-sRGB (Display P3) source so outputs hold sRGB values', async () => {
    const p3 = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#00ff00' } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const set = await renderResponsiveSet(await decodeSource(p3, LIMITS), { widths: [32], formats: ALL });
    for (const v of set.variants) {
      // No profile attached, so browsers read the numbers as sRGB; they must be sRGB green.
      expect((await sharp(v.data).metadata()).icc).toBeUndefined();
      const { dominant } = await sharp(v.data).stats();
      expect(dominant.r).toBeLessThan(30);
      expect(dominant.g).toBeGreaterThan(230);
      expect(dominant.b).toBeLessThan(30);
    }
  });

  it('keeps alpha in AVIF and WebP and flattens JPEG onto white', async () => {
    // Opaque red square in the middle of a fully transparent canvas.
    const rgba = await sharp({ create: { width: 200, height: 100, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .composite([{ input: { create: { width: 60, height: 60, channels: 4, background: '#ff0000ff' } }, left: 70, top: 20 }])
      .png()
      .toBuffer();
    const image = await decodeSource(rgba, LIMITS);
    expect(image.hasAlpha).toBe(true);
    const set = await renderResponsiveSet(image, { widths: [100], formats: ALL });
    expect(set.hasAlpha).toBe(true);

    for (const v of set.variants) {
      const { data, info } = await sharp(v.data).raw().toBuffer({ resolveWithObject: true });
      const corner = [...data.subarray(0, info.channels)];
      const centre = (25 * info.width + 50) * info.channels;
      const [r, g, b] = [...data.subarray(centre, centre + 3)];
      expect(r).toBeGreaterThan(220);
      expect(g! + b!).toBeLessThan(60);
      if (v.format === 'jpeg') {
        expect(info.channels).toBe(3);
        expect(Math.min(...corner)).toBeGreaterThan(240); // white, not black
      } else {
        expect(info.channels).toBe(4);
        expect(corner[3]).toBeLessThan(10); // still transparent
      }
    }
    expect(byFormat(set.variants, 'jpeg')).toHaveLength(1);
  });

  it('refuses an empty format list as INVALID_RECIPE', async () => {
    const image: DecodedImage = { data: Buffer.alloc(4 * 4 * 3), width: 4, height: 4, channels: 3, hasAlpha: false };
    await expect(renderResponsiveSet(image, { widths: [4], formats: [] })).rejects.toMatchObject({ code: 'INVALID_RECIPE' });
  });

  it('stops on abort, before starting and while running', async () => {
    const image = await decodeSource(await fixture('coffee.png'), LIMITS);
    const before = new AbortController();
    before.abort(new Error('cancelled before'));
    await expect(renderResponsiveSet(image, { widths: [320], formats: ALL }, before.signal)).rejects.toThrow('cancelled before');

    const during = new AbortController();
    const run = renderResponsiveSet(image, { widths: [100, 200, 300, 400, 500, 600], formats: ALL }, during.signal);
    setImmediate(() => during.abort(new Error('cancelled during')));
    await expect(run).rejects.toThrow('cancelled during');
  });
});
