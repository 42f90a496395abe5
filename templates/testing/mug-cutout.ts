import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { RgbaImage } from '../raster.js';

/**
 * The mug fixture with its exact mask as one RGBA cut-out, optionally scaled down so tests stay
 * fast. (Test helper; not part of the renderer.)
 */
export async function mugCutout(size = 320): Promise<RgbaImage> {
  const rgb = await sharp(await readFile(new URL('../../test/fixtures/d02_mug_woodtable.png', import.meta.url)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const mask = await sharp(await readFile(new URL('../../test/fixtures/d02_mug_woodtable.mask.png', import.meta.url)))
    .extractChannel(0)
    .raw()
    .toBuffer();
  const n = rgb.info.width * rgb.info.height;
  const rgba = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[i * 4] = rgb.data[i * 3]!;
    rgba[i * 4 + 1] = rgb.data[i * 3 + 1]!;
    rgba[i * 4 + 2] = rgb.data[i * 3 + 2]!;
    rgba[i * 4 + 3] = mask[i]!;
  }
  const data = await sharp(rgba, { raw: { width: rgb.info.width, height: rgb.info.height, channels: 4 } })
    .resize(size, size)
    .raw()
    .toBuffer();
  return { data, width: size, height: size, channels: 4 };
}
