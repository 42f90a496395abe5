import sharp from 'sharp';
import { intermediateKey, stepOutputId } from '../../cdn/keys.js';
import type { ObjectStorage } from '../../cdn/storage.js';
import { AppError, missingObject } from '../../lib/errors.js';
import type { SceneGenerator } from '../../models/generator/index.js';
import { CHANNEL_PRESETS } from '../../templates/channels.js';
import { recolour } from '../../templates/colourway.js';
import { toRgba, type RgbaImage } from '../../templates/raster.js';
import { renderScenes } from '../../templates/render-scene.js';
import { templateSchema, templateVersion } from '../../templates/schema.js';
import type { LayoutOutput, StepOutput, GenerateJobData } from '../catalogue.js';
import { decodeSource, type DecodeLimits } from '../steps/decode.js';
import type { StepInput } from '../step-input.js';

/** Bump when the scene renderer changes its output for the same template, so old scenes are not reused. */
export const GENERATE_VERSION = 'generate/1';

export interface GenerateDeps {
  storage: ObjectStorage;
  decodeLimits: DecodeLimits;
  /** The operator's ONNX generator, loaded on first use; absent when none is configured. */
  generator?: () => Promise<SceneGenerator>;
}

/** What the generate step returns: the first channel's scene as the step's image, and every channel's. */
export type GenerateResult = StepOutput & { layouts: LayoutOutput[]; template: { id: string; version: string }; model?: string };

/**
 * The generate step: lay the product out in the template's scene for each requested channel and
 * store each scene losslessly for the render step. Ids name the input, the template version (with
 * the run's params applied), the channels, the colourway, the backplate and the generator model,
 * so a template edit makes new renditions and an identical run finds its scenes already stored.
 */
export async function processGenerate(
  data: GenerateJobData,
  input: StepInput,
  deps: GenerateDeps,
  reportProgress: (percent: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<GenerateResult> {
  const { options } = data;
  const template = templateSchema.parse(options.template);
  let generator: SceneGenerator | undefined;
  if (template.backdrop.type === 'generator') {
    if (!deps.generator)
      throw new AppError(
        'GENERATOR_NOT_CONFIGURED',
        'This template needs the scene generator, and none is configured on this worker (GENERATOR_MODEL_PATH).',
      );
    generator = await deps.generator();
  }
  const id = stepOutputId({
    inputId: input.id,
    step: GENERATE_VERSION,
    options: {
      template: { id: options.templateId, version: templateVersion(template) },
      channels: options.channels,
      colourway: options.colourway ?? null,
      backplate: options.backplate?.sha256 ?? null,
    },
    ...(generator ? { modelSha256: generator.sha256 } : {}),
  });
  const layouts: LayoutOutput[] = options.channels.map((channel) => {
    const layoutId = stepOutputId({ inputId: id, step: 'generate-layout', options: { channel } });
    const { width, height } = CHANNEL_PRESETS[channel];
    return { channel, key: intermediateKey(data.tenantId, layoutId), id: layoutId, width, height };
  });
  const result: GenerateResult = {
    key: layouts[0]!.key,
    id,
    width: layouts[0]!.width,
    height: layouts[0]!.height,
    layouts,
    template: { id: options.templateId, version: options.templateVersion },
    ...(generator ? { model: generator.name } : {}),
  };
  const stored = await Promise.all(layouts.map((l) => deps.storage.head(l.key)));
  if (stored.every(Boolean)) return result;

  let cutout = await readRgba(deps, input.key, signal);
  if (options.colourway) cutout = recolour(cutout, options.colourway);
  const backplate = options.backplate ? await readRgba(deps, options.backplate.key, signal) : undefined;
  await reportProgress(10);
  const scenes = await renderScenes({
    cutout,
    template,
    sizes: layouts.map((l) => ({ width: l.width, height: l.height })),
    ...(backplate ? { backplate } : {}),
    ...(generator
      ? {
          generate: (placed: RgbaImage, s?: AbortSignal) =>
            generator.run(
              {
                cutout: placed.data,
                width: placed.width,
                height: placed.height,
                params: template.backdrop.type === 'generator' ? template.backdrop.params : {},
              },
              s,
            ),
        }
      : {}),
    ...(signal ? { signal } : {}),
  });
  await reportProgress(80);
  await Promise.all(
    scenes.map(async (scene, i) => {
      const png = await sharp(scene.data, { raw: { width: scene.width, height: scene.height, channels: 4 } })
        .removeAlpha()
        // Intermediates are read once by the next step: fast, lossless compression beats small files.
        .png({ compressionLevel: 1, adaptiveFiltering: false })
        .toBuffer();
      await deps.storage.put(layouts[i]!.key, png, {
        contentType: 'image/png',
        cacheControl: 'private, no-store',
        metadata: { width: String(scene.width), height: String(scene.height) },
      });
    }),
  );
  await reportProgress(100);
  return result;
}

async function readRgba(deps: GenerateDeps, key: string, signal?: AbortSignal): Promise<RgbaImage> {
  const bytes = await deps.storage.get(key);
  if (!bytes) throw missingObject(key);
  return toRgba(await decodeSource(bytes, deps.decodeLimits, signal));
}
