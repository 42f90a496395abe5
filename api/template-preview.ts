import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from '../lib/logger.js';
import { loadGenerator, type GeneratorConfig } from '../models/generator/index.js';
import { templatesDataDir } from '../templates/builtin.js';
import { CHANNEL_PRESETS } from '../templates/channels.js';
import type { RgbaImage } from '../templates/raster.js';
import { renderScenes } from '../templates/render-scene.js';
import type { Template } from '../templates/schema.js';

/** Longest side of a preview: enough to judge a template, small enough to render in a request. */
const PREVIEW_SIZE = 480;
/** Previews kept in memory, by template version (an edit makes a new version, so no invalidation). */
const CACHE_ENTRIES = 64;

async function readRgba(file: string): Promise<RgbaImage> {
  const { data, info } = await sharp(await readFile(file))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 4 };
}

let samples: Promise<{ cutout: RgbaImage; backplate: RgbaImage }> | undefined;
const loadSamples = () =>
  (samples ??= (async () => {
    const dir = templatesDataDir('samples');
    return { cutout: await readRgba(path.join(dir, 'mug-cutout.png')), backplate: await readRgba(path.join(dir, 'backplate.jpg')) };
  })());

const cache = new Map<string, Buffer>();

export interface PreviewOptions {
  /** The tenant's own backplate photo, when the template names one. */
  backplate?: RgbaImage;
  generator?: GeneratorConfig;
  logger: Logger;
}

/**
 * A PNG of the template rendered around the sample product, in its first channel's aspect ratio.
 * Cached by `cacheKey` (which carries the template version).
 */
export async function renderPreview(template: Template, cacheKey: string, options: PreviewOptions): Promise<Buffer> {
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const { cutout, backplate } = await loadSamples();
  const preset = CHANNEL_PRESETS[template.channels[0]!];
  const scale = PREVIEW_SIZE / Math.max(preset.width, preset.height);
  const size = { width: Math.round(preset.width * scale), height: Math.round(preset.height * scale) };
  const generatorConfig = options.generator;
  const [scene] = await renderScenes({
    cutout,
    template,
    sizes: [size],
    backplate: options.backplate ?? backplate,
    ...(generatorConfig && template.backdrop.type === 'generator'
      ? {
          generate: async (placed: RgbaImage) =>
            (await loadGenerator(generatorConfig, options.logger)).run({
              cutout: placed.data,
              width: placed.width,
              height: placed.height,
              params: template.backdrop.type === 'generator' ? template.backdrop.params : {},
            }),
        }
      : {}),
  });
  const png = await sharp(scene!.data, { raw: { width: scene!.width, height: scene!.height, channels: 4 } })
    .removeAlpha()
    .png()
    .toBuffer();
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(cacheKey, png);
  return png;
}
