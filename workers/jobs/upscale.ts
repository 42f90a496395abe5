import { inferenceJobSchema } from '../catalogue.js';
import { processInference, type InferenceStep } from '../processors/inference.js';
import { upscale } from '../steps/upscale.js';
import { pickUpscaleModel, upscaleOptionsSchema, type UpscaleOptions } from '../steps/upscale-options.js';
import { defineJob } from './types.js';

/** Bump when the upscale step's tiling or blending changes its output. */
const UPSCALE_VERSION = 'upscale/1';

const step: InferenceStep<UpscaleOptions> = {
  version: UPSCALE_VERSION,
  optionsSchema: upscaleOptionsSchema,
  model: (options) => pickUpscaleModel(options.factor, options.model),
  run: (image, session, options, { onProgress, signal, maxOutputPixels, cpuMaxSeconds }) =>
    upscale(image, session, { ...options, maxOutputPixels, cpuMaxSeconds }, (done, total) => onProgress(done / total), signal),
};

/** Enlarge the image (Real-ESRGAN from ncnn, or UpscalerJS ESRGAN from Keras, converted to ONNX): the inference queue. */
export const upscaleJob = defineJob({
  name: 'upscale',
  queue: 'inference',
  data: inferenceJobSchema,
  servesRunStep: true,
  needs: 'steps',
  // No memory estimate: upscaling is bounded by MAX_OUTPUT_PIXELS instead (its tiles are small; its output is the image a recipe makes).
  step: { name: 'upscale', optionsSchema: upscaleOptionsSchema, options: (options) => options },
  // The job's own logger, so model sessions opened for it name its run and step.
  handler: async (run, deps) =>
    processInference('upscale', step, run.data, await run.input(), { ...deps.inference, logger: run.logger }, run.progress, run.signal),
});
