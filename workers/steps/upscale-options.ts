import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { UPSCALE_FAMILIES, UPSCALE_MODELS, UPSCALE_PACKAGES, type UpscaleFamily } from '../../models/esrgan.js';
import { REALESRGAN_MODELS, REALESRGAN_NAMES, type RealEsrganName } from '../../models/realesrgan.js';
import type { ModelSpec } from '../../models/spec.js';

// Kept apart from the step so that recipe validation (in the API) does not load ONNX Runtime.

/** Factors the shipped models cover. */
export const UPSCALE_FACTORS = [2, 3, 4, 8] as const;

/** Every model a recipe can name: the UpscalerJS families and the Real-ESRGAN models. */
export const UPSCALE_MODEL_NAMES = [...REALESRGAN_NAMES, ...UPSCALE_FAMILIES] as const;
export type UpscaleModelName = UpscaleFamily | RealEsrganName;

/** Factors a Real-ESRGAN model serves: ×4 itself, ×2 and ×3 as ×4 then a lanczos3 downscale (as Upscayl does). */
const REALESRGAN_FACTORS: readonly number[] = [2, 3, 4];

/**
 * Defaults, measured on a 2-core machine (BENCHMARKS.md, Real-ESRGAN upscaling). Model:
 * `realesrgan-x4fast`, the best output a CPU gives at a reasonable speed (supplier-grade photos
 * ×4: +0.8 dB over lanczos3 and four times its sharpness, where esrgan `medium` gains 0.4 dB, for
 * about twice medium's CPU time, ~35 s per input megapixel); ×8, which no Real-ESRGAN model makes,
 * falls back to `medium`. `realesrgan-x4plus` takes ~17× x4fast's CPU time: for GPU workers. Tiles:
 * ONNX Runtime's time per pixel falls up to ~200-pixel tiles and is flat beyond, and tiles are
 * shrunk to fit the image (see `balancedTile`), so 256 is a cap rather than a size. Overlap: 16
 * input pixels keep tiled output within 1–2 levels of an untiled run for the ESRGAN models, and
 * for x4fast, whose 34 stacked convolutions see further than 16 pixels, with the 10 pixels of
 * context its spec's prepadding adds to each tile: within 2 levels (mean 0.06) at 48-pixel tiles.
 */
export const UPSCALE_DEFAULTS = {
  model: 'realesrgan-x4fast',
  modelAtX8: 'medium',
  tileSize: 256,
  overlap: 16,
  maxOutputPixels: 64_000_000,
} as const;

const optionsObject = z
  .strictObject({
    factor: z.literal(UPSCALE_FACTORS),
    model: z
      .enum(UPSCALE_MODEL_NAMES)
      .describe(
        `Model: realesrgan-x4fast (default; ×2–×4), realesrgan-x4plus (best, ~17× slower: GPU workers), or the UpscalerJS ESRGAN families slim, medium, thick (×2, ×3, ×4, ×8; the default at ×8 is ${UPSCALE_DEFAULTS.modelAtX8}). Real-ESRGAN makes ×2 and ×3 as ×4 then a lanczos3 downscale.`,
      ),
    /** Largest tile edge in input pixels; smaller tiles use less memory, larger ones waste less on overlap. */
    tileSize: z.number().int().min(32).max(1024).default(UPSCALE_DEFAULTS.tileSize),
    /** Input pixels shared by neighbouring tiles, blended across to hide seams. At most half a tile. */
    overlap: z.number().int().min(0).max(256).default(UPSCALE_DEFAULTS.overlap),
  })
  .refine((o) => o.overlap * 2 <= o.tileSize, { message: 'overlap must be at most half of tileSize', path: ['overlap'] });

/**
 * Upscale options as a recipe gives them. Strict: an unknown key is a bad recipe, not ignored.
 * The default model depends on the factor (no Real-ESRGAN model makes ×8), so it is filled before
 * the object is checked rather than by a zod default.
 */
export const upscaleOptionsSchema = z.preprocess(
  (o) => (isRecord(o) && o.model === undefined ? { ...o, model: o.factor === 8 ? UPSCALE_DEFAULTS.modelAtX8 : UPSCALE_DEFAULTS.model } : o),
  optionsObject,
);

const isRecord = (o: unknown): o is Record<string, unknown> => typeof o === 'object' && o !== null && !Array.isArray(o);

/** Options of the upscale step: the recipe's, plus the operator's output-size limit. */
export type UpscaleOptions = z.output<typeof optionsObject> & {
  /** Largest output (width × height) accepted; larger requests fail with IMAGE_TOO_LARGE before any inference. */
  maxOutputPixels?: number;
  /** On the cpu provider, the longest estimated run accepted (UPSCALE_CPU_MAX_SECONDS); unset: no limit. */
  cpuMaxSeconds?: number;
};

/**
 * CPU seconds per input megapixel of the models slow enough to need a limit, measured by
 * bench/upscale-realesrgan.ts on a 2-core EPYC (x4plus ~550 on 100²-pixel inputs; x4fast 33 on a
 * 1000² one), rounded; divided by the cores ONNX Runtime uses for a wall-clock estimate.
 */
export const CPU_SECONDS_PER_MEGAPIXEL: Readonly<Partial<Record<string, number>>> = { 'realesrgan-x4plus': 500, 'realesrgan-x4fast': 35 };

/** The model spec for a model name at a factor; throws when that combination is not shipped. */
export function pickUpscaleModel(factor: number, model: UpscaleModelName): ModelSpec {
  const realEsrgan = REALESRGAN_MODELS.find((m) => m.name === model);
  if (realEsrgan) {
    if (REALESRGAN_FACTORS.includes(factor)) return realEsrgan;
    throw new AppError('INVALID_RECIPE', `No ${model} upscaling for ×${factor} (it makes ×${REALESRGAN_FACTORS.join(', ×')})`, {
      factor,
      model,
    });
  }
  const pkg = UPSCALE_PACKAGES[model as UpscaleFamily];
  const spec = UPSCALE_MODELS.find((m) => m.source.package === pkg && m.scale === factor);
  if (!spec) {
    const have = UPSCALE_MODELS.filter((m) => m.source.package === pkg).map((m) => `×${m.scale}`);
    throw new AppError('INVALID_RECIPE', `No ${model} upscaling model for ×${factor} (it ships ${have.join(', ') || 'none'})`, {
      factor,
      model,
    });
  }
  return spec;
}
