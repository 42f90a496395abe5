/**
 * Render every built-in template on the fixture photos into one labelled contact sheet
 * (rows: images, columns: templates), in-process, without Redis:
 *   npm run contact-sheet -- [--out docs/contact-sheet.jpg] [--cell 220] [--model small|medium]
 * Photos (`../shared/fixtures/photos/`) are cut out with the real ISNet background-removal step;
 * rendered product shots (`../shared/fixtures/renders/`) use their exact masks, so the sheet shows
 * the templates and not the segmentation. Backplate templates use the sample backplate photo.
 */
import { readdir, readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type OverlayOptions } from 'sharp';
import { createLogger, logLevelFromEnv } from '../lib/logger.js';
import { loadModelsConfig } from '../models/config.js';
import { getSession } from '../models/session.js';
import { builtinTemplates, templatesDataDir } from '../templates/builtin.js';
import { CHANNEL_PRESETS } from '../templates/channels.js';
import { toRgba, type RgbaImage } from '../templates/raster.js';
import { renderScenes } from '../templates/render-scene.js';
import { decodeSource } from '../workers/steps/decode.js';
import { removeBackground } from '../workers/steps/remove-background.js';
import { removeBackgroundModel, removeBackgroundOptionsSchema } from '../workers/steps/remove-background-options.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const LABEL_W = 180;
const HEADER_H = 34;

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const label = (text: string, width: number, height: number, size = 15) =>
  Buffer.from(
    `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#ffffff"/>` +
      `<text x="${width / 2}" y="${height / 2}" font-family="sans-serif" font-size="${size}" fill="#222" text-anchor="middle" dominant-baseline="middle">${escapeXml(text)}</text></svg>`,
  );

async function cutouts(model: 'small' | 'medium'): Promise<Array<{ name: string; cutout: RgbaImage }>> {
  const logger = createLogger(logLevelFromEnv({ LOG_LEVEL: 'warn', ...process.env }));
  const fixtures = path.join(root, '..', 'shared', 'fixtures');
  const out: Array<{ name: string; cutout: RgbaImage }> = [];
  const options = removeBackgroundOptionsSchema.parse({ model, output: 'cutout' });
  const session = await getSession(removeBackgroundModel(options), loadModelsConfig(process.env), logger);
  const photos = (await readdir(path.join(fixtures, 'photos'))).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  for (const file of photos) {
    const image = await decodeSource(await readFile(path.join(fixtures, 'photos', file)), { maxPixels: 100_000_000 });
    const cut = await removeBackground(image, session, options);
    out.push({ name: file, cutout: toRgba(cut) });
    console.log(`cut out ${file}`);
  }
  const renders = (await readdir(path.join(fixtures, 'renders'))).filter((f) => f.endsWith('.png') && !f.endsWith('.mask.png')).sort();
  for (const file of renders) {
    const rgb = await sharp(await readFile(path.join(fixtures, 'renders', file)))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const mask = await sharp(await readFile(path.join(fixtures, 'renders', file.replace(/\.png$/, '.mask.png'))))
      .extractChannel(0)
      .raw()
      .toBuffer();
    const cutout = toRgba({ data: rgb.data, width: rgb.info.width, height: rgb.info.height, channels: 3 });
    for (let i = 0; i < mask.length; i++) cutout.data[i * 4 + 3] = mask[i]!;
    out.push({ name: file, cutout });
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'docs/contact-sheet.jpg' },
      cell: { type: 'string', default: '220' },
      model: { type: 'string', default: 'medium' },
    },
  });
  const cell = Number(values.cell);
  const model = values.model === 'small' ? 'small' : 'medium';
  const templates = [...builtinTemplates().values()].map((t) => t.template);
  const samples = templatesDataDir('samples');
  const backplate = toRgba(await decodeSource(await readFile(path.join(samples, 'backplate.jpg')), { maxPixels: 100_000_000 }));
  const rows = await cutouts(model);

  const width = LABEL_W + templates.length * cell;
  const height = HEADER_H + rows.length * cell;
  const layers: OverlayOptions[] = templates.map((t, c) => ({ input: label(t.id, cell, HEADER_H), left: LABEL_W + c * cell, top: 0 }));
  const size = { width: CHANNEL_PRESETS.thumbnail.width, height: CHANNEL_PRESETS.thumbnail.height };
  for (const [r, row] of rows.entries()) {
    layers.push({ input: label(row.name.replace(/\.(png|jpe?g)$/i, ''), LABEL_W, cell, 13), left: 0, top: HEADER_H + r * cell });
    for (const [c, template] of templates.entries()) {
      const [scene] = await renderScenes({ cutout: row.cutout, template, sizes: [size], backplate });
      const tile = await sharp(scene!.data, { raw: { width: scene!.width, height: scene!.height, channels: 4 } })
        .removeAlpha()
        .resize(cell - 4, cell - 4)
        .png()
        .toBuffer();
      layers.push({ input: tile, left: LABEL_W + c * cell + 2, top: HEADER_H + r * cell + 2 });
    }
    console.log(`rendered ${row.name}`);
  }
  const out = path.resolve(root, values.out!);
  await mkdir(path.dirname(out), { recursive: true });
  const info = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(layers)
    .jpeg({ quality: 82, mozjpeg: true })
    .toFile(out);
  console.log(`${out}: ${width}x${height}, ${Math.round(info.size / 1024)} KiB`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
