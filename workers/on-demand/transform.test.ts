import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { imgixDefaultWidths, parseImgixParams, type OnDemandFormat } from '../../cdn/imgix-params.js';
import { AppError } from '../../lib/errors.js';
import { inspectSource, planResize, prepareSource, transformImage, type PreparedSource, type SourceInfo } from './transform.js';

const limits = { maxInputPixels: 100_000_000, maxOutputPixels: 4_000_000, timeoutSeconds: 30 };
const fixture = (name: string) => new URL(`../../test/fixtures/${name}`, import.meta.url);
let coffee: PreparedSource;
let info: SourceInfo;

async function run(query: string, format: OnDemandFormat = 'png', source = coffee, sourceInfo = info) {
  const params = parseImgixParams(new URLSearchParams(query), { widths: imgixDefaultWidths(), maxOutputPixels: limits.maxOutputPixels });
  const out = await transformImage(source, sourceInfo, params, format, limits);
  const meta = await sharp(out.data).metadata();
  expect([meta.width, meta.height]).toEqual([out.width, out.height]);
  return { ...out, meta };
}

describe('on-demand transforms', () => {
  beforeAll(async () => {
    coffee = await prepareSource(await readFile(fixture('coffee.png')), limits);
    info = await inspectSource(coffee, limits);
  });

  it('sizes each fit as imgix does (coffee.png is 600x400)', () => {
    const plan = (w: number | undefined, h: number | undefined, fit: string) =>
      planResize(600, 400, { w, h, fit: fit as 'clip', crop: { kind: 'gravity', gravity: 'centre' } });
    const size = (p: { width: number; height: number }) => [p.width, p.height];
    expect(size(plan(300, 300, 'clip'))).toEqual([300, 200]);
    expect(size(plan(1200, 1200, 'clip'))).toEqual([1200, 800]);
    expect(size(plan(1200, 1200, 'max'))).toEqual([600, 400]);
    expect(size(plan(300, 300, 'crop'))).toEqual([300, 300]);
    expect(size(plan(300, 300, 'fill'))).toEqual([300, 300]);
    expect(size(plan(300, 100, 'scale'))).toEqual([300, 100]);
    expect(size(plan(1200, 600, 'min'))).toEqual([600, 300]);
    expect(size(plan(undefined, 100, 'clip'))).toEqual([150, 100]);
    expect(size(plan(900, undefined, 'min'))).toEqual([600, 400]);
  });

  it('encodes every format, without metadata', async () => {
    for (const [format, name] of [
      ['avif', 'heif'],
      ['webp', 'webp'],
      ['jpg', 'jpeg'],
      ['png', 'png'],
    ] as const) {
      const out = await run('w=135', format);
      expect(out.meta.format).toBe(name);
      expect(out.meta.exif).toBeUndefined();
      expect(out.width).toBe(135);
    }
  });

  it('a provisional WebP is a cheaper encode of the same pixels; its final encode is what a one-step transform makes', async () => {
    const params = parseImgixParams(new URLSearchParams('w=400&h=300&fit=crop&pad=8&bg=ff0000'), {
      widths: imgixDefaultWidths(),
      maxOutputPixels: limits.maxOutputPixels,
    });
    const once = await transformImage(coffee, info, params, 'webp', limits);
    const provisional = await transformImage(coffee, info, params, 'webp', limits, { provisional: true });
    expect(once.final).toBeUndefined();
    expect(provisional.data.equals(once.data)).toBe(false);
    const meta = await sharp(provisional.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', once.width, once.height]);
    expect((await provisional.final!()).equals(once.data)).toBe(true);
    // Formats without a cheaper encode are encoded once, finally, whatever is asked.
    const jpeg = await transformImage(coffee, info, params, 'jpg', limits, { provisional: true });
    expect(jpeg.final).toBeUndefined();
    expect(jpeg.data.equals((await transformImage(coffee, info, params, 'jpg', limits)).data)).toBe(true);
  });

  it('crops around the focal point, pads with bg, cuts rect, trims', async () => {
    // The focal point at the far left keeps the left edge: its first column equals the source's scaled left edge.
    const left = await run('w=116&h=116&fit=crop&crop=focalpoint&fp-x=0&fp-y=0.5');
    const right = await run('w=116&h=116&fit=crop&crop=focalpoint&fp-x=1&fp-y=0.5');
    expect(left.data.equals(right.data)).toBe(false);
    const padded = await run('w=116&h=116&pad=10&bg=ff0000', 'png');
    const corner = await sharp(padded.data).extract({ left: 0, top: 0, width: 1, height: 1 }).raw().toBuffer();
    expect([...corner.subarray(0, 3)]).toEqual([255, 0, 0]);
    // clip keeps the aspect inside the box less the padding: 96x64, plus 10 px on each side.
    expect([padded.width, padded.height]).toEqual([116, 84]);
    const rect = await run('rect=100,50,200,100');
    expect([rect.width, rect.height]).toEqual([200, 100]);
    // A 100 px white frame around coffee.png is trimmed off again.
    const framed = await sharp(coffee.input)
      .extend({ top: 100, bottom: 100, left: 100, right: 100, background: '#ffffff' })
      .png()
      .toBuffer();
    const prepared = await prepareSource(framed, limits);
    const trimmed = await run('trim=auto', 'png', prepared, await inspectSource(prepared, limits));
    expect(Math.abs(trimmed.width - 600)).toBeLessThan(6);
  });

  it('reads an iPhone-style HEIC original (HEVC, which libvips cannot decode) through libheif', async () => {
    const heic = await prepareSource(await readFile(fixture('heic/coffee.heic')), limits);
    const out = await run('w=135&fm=webp', 'webp', heic, await inspectSource(heic, limits));
    expect([out.width, out.height, out.meta.format]).toEqual([135, 90, 'webp']);
  });

  it('refuses an output over MAX_OUTPUT_PIXELS, a rect outside the source and padding that fills the box', async () => {
    const refused = async (query: string) =>
      run(query).then(
        () => undefined,
        (err: AppError) => err,
      );
    expect((await refused('w=2560'))?.status).toBe(400);
    expect((await refused('rect=700,0,10,10'))?.details).toMatchObject({ param: 'rect' });
    expect((await refused('w=100&h=100&pad=60'))?.details).toMatchObject({ param: 'pad' });
  });
});
