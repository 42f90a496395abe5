import { inferenceJobSchema } from '../catalogue.js';
import { processInference } from '../processors/inference.js';
import { defineJob } from './types.js';

/** Cut the product out (ISNet on ONNX Runtime): the inference queue. */
export const removeBackgroundJob = defineJob({
  name: 'remove-background',
  queue: 'inference',
  data: inferenceJobSchema,
  servesRunStep: true,
  needs: 'steps',
  step: { name: 'remove-background', options: (options) => options },
  // The job's own logger, so model sessions opened for it name its run and step.
  handler: async (run, deps) => processInference('remove-background', run.data, await run.input(), { ...deps.inference, logger: run.logger }, run.progress, run.signal),
});
