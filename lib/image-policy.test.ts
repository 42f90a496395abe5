import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { restrictImageLoaders } from './image-policy.js';

describe('restrictImageLoaders', () => {
  it('blocks SVG and keeps the formats we accept decoding', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>');
    await expect(sharp(svg).raw().toBuffer()).resolves.toBeDefined(); // libvips reads SVG by default…
    restrictImageLoaders();
    await expect(sharp(svg).raw().toBuffer()).rejects.toThrow(); // …and not any more
    const pixel = { create: { width: 4, height: 4, channels: 3 as const, background: '#c04020' } };
    for (const format of ['jpeg', 'png', 'webp', 'avif', 'tiff', 'gif'] as const) {
      const encoded = await sharp(pixel).toFormat(format).toBuffer();
      const { info } = await sharp(encoded).raw().toBuffer({ resolveWithObject: true });
      expect(info.width, format).toBe(4);
    }
  });
});
