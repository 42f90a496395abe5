import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { UPSCALE_FAMILIES, UPSCALE_MODELS, UPSCALE_PACKAGES, type UpscaleFamily } from '../../models/esrgan.js';
import type { ModelSpec } from '../../models/spec.js';

// Kept apart from the step so that recipe validation (in the API) does not load ONNX Runtime.

/** Factors the shipped models cover. */
export const UPSCALE_FACTORS = [2, 3, 4, 8] as const;

/**
 * Defaults, measured on a 2-core machine. Model: `medium` gains ~0.2–0.4 dB over `slim` (×2, vs
 * the original of a shrunk photo) for about twice the time; `thick` adds up to 0.8 dB more for
 * ~10× `medium`'s time, too slow for a default on CPU. Tiles: ONNX Runtime's time per pixel falls
 * up to ~200-pixel tiles and is flat beyond, and tiles are shrunk to fit the image (see
 * `balancedTile`), so 256 is a cap rather than a size. Overlap: 16 input pixels keep tiled output
 * within 1–2 levels of an untiled run for slim, medium and thick.
 */
export const UPSCALE_DEFAULTS = { model: 'medium', tileSize: 256, overlap: 16, maxOutputPixels: 64_000_000 } as const;

/** Upscale options as a recipe gives them. Strict: an unknown key is a bad recipe, not ignored. */
export const upscaleOptionsSchema = z.strictObject({
  factor: z.literal(UPSCALE_FACTORS),
  model: z.enum(UPSCALE_FAMILIES).default(UPSCALE_DEFAULTS.model),
  /** Largest tile edge in input pixels; smaller tiles use less memory, larger ones waste less on overlap. */
  tileSize: z.number().int().min(32).max(1024).default(UPSCALE_DEFAULTS.tileSize),
  /** Input pixels shared by neighbouring tiles, blended across to hide seams. At most half a tile. */
  overlap: z.number().int().min(0).max(256).default(UPSCALE_DEFAULTS.overlap),
}).refine((o) => o.overlap * 2 <= o.tileSize, { message: 'overlap must be at most half of tileSize', path: ['overlap'] });

/** Options of the upscale step: the recipe's, plus the operator's output-size limit. */
export type UpscaleOptions = z.output<typeof upscaleOptionsSchema> & {
  /** Largest output (width × height) accepted; larger requests fail with IMAGE_TOO_LARGE before any inference. */
  maxOutputPixels?: number;
};

/** The model spec of a family at a factor; throws when that combination is not shipped. */
export function pickUpscaleModel(factor: number, model: UpscaleFamily): ModelSpec {
  const pkg = UPSCALE_PACKAGES[model];
  const spec = UPSCALE_MODELS.find((m) => m.source.package === pkg && m.scale === factor);
  if (!spec) {
    const have = UPSCALE_MODELS.filter((m) => m.source.package === pkg).map((m) => `×${m.scale}`);
    throw new AppError('INVALID_RECIPE', `No ${model} upscaling model for ×${factor} (it ships ${have.join(', ') || 'none'})`, { factor, model });
  }
  return spec;
}
