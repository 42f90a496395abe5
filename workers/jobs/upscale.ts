import { inferenceJobSchema } from '../catalogue.js';
import { processInference } from '../processors/inference.js';
import { defineJob } from './types.js';

/** Enlarge the image (ESRGAN converted to ONNX): the inference queue. */
export const upscaleJob = defineJob({
  name: 'upscale',
  queue: 'inference',
  data: inferenceJobSchema,
  servesRunStep: true,
  needs: 'steps',
  step: { name: 'upscale', options: (options) => options },
  // The job's own logger, so model sessions opened for it name its run and step.
  handler: async (run, deps) => processInference('upscale', run.data, await run.input(), { ...deps.inference, logger: run.logger }, run.progress, run.signal),
});
