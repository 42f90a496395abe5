import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { PROTOTYPE_NAMES } from '../lib/own-keys.js';
import { hueDegrees, srgbToOklab } from './colourway-oklab.js';
import { NAMED_COLOURS, parseColour, recolour, type RgbaImage } from './colourway.js';

const fixture = (name: string) => new URL(`../test/fixtures/${name}`, import.meta.url).pathname;

/** Mean OKLCh hue (chroma-weighted, i.e. the hue of the mean a/b), mean chroma and the L values of pixels with alpha 255. */
function measure(image: RgbaImage) {
  const L: number[] = [];
  let [sa, sb, sc] = [0, 0, 0];
  for (let i = 0; i < image.width * image.height; i++) {
    if (image.data[i * 4 + 3] !== 255) continue;
    const lab = srgbToOklab(image.data[i * 4]!, image.data[i * 4 + 1]!, image.data[i * 4 + 2]!);
    L.push(lab.L);
    sa += lab.a;
    sb += lab.b;
    sc += Math.hypot(lab.a, lab.b);
  }
  const meanL = L.reduce((s, v) => s + v, 0) / L.length;
  const sd = Math.sqrt(L.reduce((s, v) => s + (v - meanL) ** 2, 0) / L.length);
  return { hue: hueDegrees(sa, sb), chroma: sc / L.length, meanChroma: Math.hypot(sa, sb) / L.length, L, meanL, sd };
}

function correlation(x: number[], y: number[]): number {
  const mx = x.reduce((s, v) => s + v, 0) / x.length;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  let [sxy, sxx, syy] = [0, 0, 0];
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const hueDistance = (a: number, b: number) => Math.abs(((a - b + 540) % 360) - 180);

function targetLab(colour: string) {
  const [r, g, b] = parseColour(colour);
  const lab = srgbToOklab(r, g, b);
  return { ...lab, hue: hueDegrees(lab.a, lab.b), chroma: Math.hypot(lab.a, lab.b) };
}

/** Every pixel with alpha 0 must come back with the same four bytes. */
function expectUntouchedOutsideMask(before: RgbaImage, after: RgbaImage): void {
  expect(after.data.length).toBe(before.data.length);
  let outside = 0;
  for (let i = 0; i < before.width * before.height; i++) {
    if (before.data[i * 4 + 3] !== 0) continue;
    outside++;
    if (!before.data.subarray(i * 4, i * 4 + 4).equals(after.data.subarray(i * 4, i * 4 + 4))) {
      throw new Error(`pixel ${i} outside the mask changed`);
    }
  }
  expect(outside).toBeGreaterThan(0);
}

describe('parseColour and INVALID_COLOUR', () => {
  it('takes #rrggbb in any case and every named colour', () => {
    expect(parseColour('#C0262d')).toEqual([0xc0, 0x26, 0x2d]);
    expect(parseColour('Navy')).toEqual(parseColour(NAMED_COLOURS.navy!));
    for (const name of ['red', 'navy', 'forest', 'sand', 'charcoal']) expect(NAMED_COLOURS[name]).toMatch(/^#[0-9a-f]{6}$/);
  });

  it('refuses unknown names and malformed hex with a 422 listing the names', () => {
    for (const bad of ['mauve-ish', '#12345', '#1234567', '#gg0000', 'rgb(1,2,3)', '', 'c0262d']) {
      const err = (() => {
        try {
          parseColour(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 422, code: 'INVALID_COLOUR', details: { colour: bad } });
      expect((err as Error).message).toContain('red, coral');
    }
    const image: RgbaImage = { data: Buffer.alloc(4), width: 1, height: 1, channels: 4 };
    expect(() => recolour(image, 'mauve-ish')).toThrow(/neither #rrggbb nor a known name/);
  });
});

describe('recolour on the mug fixture (photo + its exact mask)', () => {
  let mug: RgbaImage;
  let before: ReturnType<typeof measure>;
  beforeAll(async () => {
    const mask = await sharp(fixture('d02_mug_woodtable.mask.png')).extractChannel(0).raw().toBuffer();
    const { data, info } = await sharp(fixture('d02_mug_woodtable.png'))
      .joinChannel(mask, { raw: { width: 640, height: 640, channels: 1 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    mug = { data, width: info.width, height: info.height, channels: 4 };
    before = measure(mug);
  });

  // Targets near the mug's own lightness keep the shading almost exactly; much lighter ones roll
  // off the highlights (they stay white), which costs some of the spread above the mean.
  const cases: Array<[string, { correlation: number; spread: [number, number] }]> = [
    ['red', { correlation: 0.97, spread: [0.8, 1.25] }],
    ['forest', { correlation: 0.97, spread: [0.8, 1.25] }],
    ['#8a2be2', { correlation: 0.97, spread: [0.8, 1.25] }],
    ['mustard', { correlation: 0.93, spread: [0.65, 1.25] }],
    ['sand', { correlation: 0.9, spread: [0.55, 1.25] }],
  ];
  for (const [target, keep] of cases) {
    it(`moves the blue mug to ${target}, keeps its shading, leaves the table alone`, () => {
      const after = recolour(mug, target);
      const goal = targetLab(target);
      const m = measure(after);
      expect(hueDistance(before.hue, goal.hue), 'the fixture starts far from the target').toBeGreaterThan(30);
      expect(hueDistance(m.hue, goal.hue)).toBeLessThan(6);
      expect(Math.abs(m.meanL - goal.L)).toBeLessThan(0.02);
      expect(correlation(before.L, m.L)).toBeGreaterThan(keep.correlation);
      // Texture and shading keep their strength (not flattened, not exaggerated).
      expect(m.sd / before.sd).toBeGreaterThan(keep.spread[0]);
      expect(m.sd / before.sd).toBeLessThan(keep.spread[1]);
      expectUntouchedOutsideMask(mug, after);
    });
  }

  it('turns the mug neutral for a near-grey target, still shaded', () => {
    const after = measure(recolour(mug, 'charcoal'));
    expect(before.meanChroma).toBeGreaterThan(0.08);
    expect(after.meanChroma).toBeLessThan(targetLab('charcoal').chroma + 0.01);
    expect(correlation(before.L, after.L)).toBeGreaterThan(0.97);
  });
});

/** A shaded sphere of one colour on a transparent field of noise, with an antialiased rim. */
function sphere(rgb: [number, number, number], size = 96): RgbaImage {
  const data = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const [dx, dy] = [(x - size / 2 + 0.5) / (size * 0.4), (y - size / 2 + 0.5) / (size * 0.4)];
      const r = Math.hypot(dx, dy);
      const shade = r < 1 ? 0.35 + 0.65 * Math.sqrt(1 - r * r) * (0.6 + (0.4 * (-dx - dy)) / Math.SQRT2 + 0.4) : 0;
      const inside = Math.min(1, Math.max(0, (1 - r) * size * 0.4 + 0.5));
      for (let c = 0; c < 3; c++) data[i + c] = inside > 0 ? Math.min(255, Math.round(rgb[c]! * shade)) : (x * 37 + y * 11 + c * 101) % 256;
      data[i + 3] = Math.round(inside * 255);
    }
  }
  return { data, width: size, height: size, channels: 4 };
}

describe('recolour on synthetic products', () => {
  it('gives a grey product the target hue and keeps its shading', () => {
    const grey = sphere([200, 200, 200]);
    const after = recolour(grey, 'teal');
    const [b, a] = [measure(grey), measure(after)];
    expect(b.meanChroma).toBeLessThan(0.005);
    expect(hueDistance(a.hue, targetLab('teal').hue)).toBeLessThan(5);
    expect(a.meanChroma).toBeGreaterThan(targetLab('teal').chroma * 0.7);
    expect(correlation(b.L, a.L)).toBeGreaterThan(0.98);
    expectUntouchedOutsideMask(grey, after);
  });

  it('keeps a white highlight white while the body changes hue', () => {
    const product = sphere([40, 80, 200]);
    const body = (30 * 96 + 48) * 4; // inside the sphere, away from the spot
    for (let y = 44; y < 50; y++) for (let x = 44; x < 50; x++) product.data.fill(250, (y * 96 + x) * 4, (y * 96 + x) * 4 + 3);
    const after = recolour(product, 'red');
    const spot = srgbToOklab(after.data[(46 * 96 + 46) * 4]!, after.data[(46 * 96 + 46) * 4 + 1]!, after.data[(46 * 96 + 46) * 4 + 2]!);
    expect(Math.hypot(spot.a, spot.b)).toBeLessThan(0.04);
    const lab = srgbToOklab(after.data[body]!, after.data[body + 1]!, after.data[body + 2]!);
    expect(hueDistance(hueDegrees(lab.a, lab.b), targetLab('red').hue)).toBeLessThan(10);
  });

  it('blends soft edges by alpha: half coverage, half the change', () => {
    const size = 16;
    const data = Buffer.alloc(size * size * 4);
    for (let i = 0; i < size * size; i++) data.set([60, 110, 190, i % size < 8 ? 255 : i % size < 12 ? 128 : 0], i * 4);
    const after = recolour({ data, width: size, height: size, channels: 4 }, 'orange');
    const full = after.data.subarray(0, 3);
    const half = after.data.subarray(9 * 4, 9 * 4 + 3);
    for (let c = 0; c < 3; c++) expect(Math.abs(half[c]! - (data[c]! + (128 / 255) * (full[c]! - data[c]!)))).toBeLessThanOrEqual(1);
    expect(after.data[9 * 4 + 3]).toBe(128);
  });

  it('returns an image with an empty mask unchanged, and refuses a wrong buffer', () => {
    const empty: RgbaImage = { data: Buffer.from([1, 2, 3, 0, 4, 5, 6, 0]), width: 2, height: 1, channels: 4 };
    expect(recolour(empty, 'red').data).toEqual(empty.data);
    expect(() => recolour({ ...empty, width: 3 }, 'red')).toThrow(RangeError);
  });
});

describe('colour names from input', () => {
  it('refuses every Object.prototype member name with INVALID_COLOUR, never a crash', () => {
    for (const name of PROTOTYPE_NAMES) {
      for (const given of [name, name.toUpperCase(), ` ${name} `]) {
        let thrown: unknown;
        try {
          parseColour(given);
        } catch (err) {
          thrown = err;
        }
        expect(thrown, given).toBeInstanceOf(AppError);
        expect((thrown as AppError).code, given).toBe('INVALID_COLOUR');
      }
    }
  });
});
