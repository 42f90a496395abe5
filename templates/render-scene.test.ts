import { describe, expect, it } from 'vitest';
import { builtinTemplates } from './builtin.js';
import { mugCutout } from './testing/mug-cutout.js';
import { renderScenes } from './render-scene.js';
import type { RgbaImage } from './raster.js';
import { parseTemplate, type Template } from './schema.js';

const builtin = (id: string) => builtinTemplates().get(id)!.template;

/** Bounding box of the pixels that are not pure white. */
function nonWhiteBox(img: RgbaImage) {
  let left = img.width,
    top = img.height,
    right = -1,
    bottom = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      if (img.data[i] === 255 && img.data[i + 1] === 255 && img.data[i + 2] === 255) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

describe('marketplace-white', () => {
  it('has a pure white border and the product box fills 85% of the longer side, centred', async () => {
    const cutout = await mugCutout(400);
    const sizes = [
      { width: 1000, height: 1000 },
      { width: 1080, height: 1350 },
    ];
    const [square, portrait] = await renderScenes({ cutout, template: builtin('marketplace-white'), sizes });
    for (const img of [square!, portrait!]) {
      for (let x = 0; x < img.width; x++) {
        for (const y of [0, img.height - 1])
          expect(Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3))).toEqual([255, 255, 255]);
      }
      for (let y = 0; y < img.height; y++) {
        for (const x of [0, img.width - 1])
          expect(Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3))).toEqual([255, 255, 255]);
      }
    }
    const box = nonWhiteBox(square!);
    expect(Math.max(box.width, box.height) / 1000).toBeGreaterThan(0.84);
    expect(Math.max(box.width, box.height) / 1000).toBeLessThan(0.86);
    // Centred: equal margins (within a pixel or two of rounding) on both axes.
    expect(Math.abs(box.left - (1000 - box.left - box.width))).toBeLessThanOrEqual(2);
    expect(Math.abs(box.top - (1000 - box.top - box.height))).toBeLessThanOrEqual(2);
  });
});

/** Centroid of how much darker `shaded` is than `plain` (the shadow's mass). */
function darknessCentroid(plain: RgbaImage, shaded: RgbaImage) {
  let sum = 0,
    sx = 0,
    sy = 0;
  for (let y = 0; y < plain.height; y++) {
    for (let x = 0; x < plain.width; x++) {
      const i = (y * plain.width + x) * 4;
      const d = plain.data[i]! + plain.data[i + 1]! + plain.data[i + 2]! - shaded.data[i]! - shaded.data[i + 1]! - shaded.data[i + 2]!;
      if (d <= 0) continue;
      sum += d;
      sx += d * x;
      sy += d * y;
    }
  }
  return { x: sx / sum, y: sy / sum, mass: sum };
}

describe('drop shadow', () => {
  const base = (azimuth: number, opacity: number): Template =>
    parseTemplate({
      id: 'shadow-test',
      name: 'Shadow test',
      backdrop: { type: 'solid', colour: '#f0f0f0' },
      layout: { fill: 0.5, padding: 0.1 },
      shadows: { drop: { azimuth, elevation: 35, opacity, softness: 0.2, spread: 0.05 } },
    }).template;

  it('falls on the side away from the light, for lights from the right-top and from the left', async () => {
    const cutout = await mugCutout(200);
    const size = [{ width: 400, height: 400 }];
    const [plain] = await renderScenes({ cutout, template: base(45, 0), sizes: size });
    const centre = { x: 200, y: 200 }; // the product is centred
    // Light from the upper right (45°): the shadow's mass lies to the lower left of the product.
    const [fromUpperRight] = await renderScenes({ cutout, template: base(45, 0.6), sizes: size });
    const a = darknessCentroid(plain!, fromUpperRight!);
    expect(a.mass).toBeGreaterThan(0);
    expect(a.x).toBeLessThan(centre.x - 5);
    expect(a.y).toBeGreaterThan(centre.y + 5);
    // Light from the left (180°): the shadow's mass lies to the right.
    const [fromLeft] = await renderScenes({ cutout, template: base(180, 0.6), sizes: size });
    const b = darknessCentroid(plain!, fromLeft!);
    expect(b.x).toBeGreaterThan(centre.x + 5);
    expect(Math.abs(b.y - centre.y)).toBeLessThan(10);
  });

  it('contact shadows sit under the product and reflections below it', async () => {
    const cutout = await mugCutout(200);
    const size = [{ width: 400, height: 400 }];
    const t = (shadows: object) =>
      parseTemplate({ id: 'c', name: 'c', backdrop: { type: 'solid', colour: '#ffffff' }, layout: { fill: 0.5, padding: 0.1 }, shadows })
        .template;
    const [plain] = await renderScenes({ cutout, template: t({}), sizes: size });
    const [contact] = await renderScenes({ cutout, template: t({ contact: { opacity: 0.8 } }), sizes: size });
    const [reflected] = await renderScenes({ cutout, template: t({ reflection: { opacity: 0.5, fade: 0.5 } }), sizes: size });
    const box = nonWhiteBox(plain!);
    const c = darknessCentroid(plain!, contact!);
    expect(c.y).toBeGreaterThan(box.top + box.height * 0.9);
    expect(Math.abs(c.x - (box.left + box.width / 2))).toBeLessThan(box.width * 0.1);
    const r = darknessCentroid(plain!, reflected!);
    expect(r.y).toBeGreaterThan(box.top + box.height);
  });
});

describe('every built-in renders', () => {
  it('on several channel shapes', async () => {
    const cutout = await mugCutout(160);
    const backplate = { ...(await mugCutout(160)) };
    for (const [id, { template }] of builtinTemplates()) {
      const out = await renderScenes({
        cutout,
        template,
        sizes: [
          { width: 200, height: 250 },
          { width: 320, height: 180 },
        ],
        backplate,
      });
      expect(
        out.map((o) => [o.width, o.height]),
        id,
      ).toEqual([
        [200, 250],
        [320, 180],
      ]);
    }
  });
});
