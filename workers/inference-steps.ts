import type { InferenceStep } from './processors/inference.js';
import { REMOVE_BACKGROUND_SETTINGS, removeBackground } from './steps/remove-background.js';
import { removeBackgroundModel, removeBackgroundOptionsSchema, type RemoveBackgroundOptions } from './steps/remove-background-options.js';
import { upscale } from './steps/upscale.js';
import { pickUpscaleModel, upscaleOptionsSchema, type UpscaleOptions } from './steps/upscale-options.js';

/** Bump when the upscale step's tiling or blending changes its output. */
const UPSCALE_VERSION = 'upscale/1';

/** The AI steps the inference queue runs, keyed by their recipe name. */
export function inferenceSteps(limits: { maxOutputPixels: number }) {
  const removeBackgroundStep: InferenceStep<RemoveBackgroundOptions> = {
    version: REMOVE_BACKGROUND_SETTINGS.version,
    optionsSchema: removeBackgroundOptionsSchema,
    model: removeBackgroundModel,
    run: (image, session, options, _progress, signal) => removeBackground(image, session, options, signal),
  };
  const upscaleStep: InferenceStep<UpscaleOptions> = {
    version: UPSCALE_VERSION,
    optionsSchema: upscaleOptionsSchema,
    model: (options) => pickUpscaleModel(options.factor, options.model),
    run: (image, session, options, progress, signal) =>
      upscale(image, session, { ...options, maxOutputPixels: limits.maxOutputPixels }, (done, total) => progress(done / total), signal),
  };
  return { 'remove-background': removeBackgroundStep, upscale: upscaleStep };
}
