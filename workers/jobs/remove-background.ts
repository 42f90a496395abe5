import { inferenceJobSchema } from '../catalogue.js';
import { processInference, type InferenceStep } from '../processors/inference.js';
import { REMOVE_BACKGROUND_SETTINGS, removeBackground } from '../steps/remove-background.js';
import { removeBackgroundModel, removeBackgroundOptionsSchema, type RemoveBackgroundOptions } from '../steps/remove-background-options.js';
import { defineJob } from './types.js';

const step: InferenceStep<RemoveBackgroundOptions> = {
  version: REMOVE_BACKGROUND_SETTINGS.version,
  optionsSchema: removeBackgroundOptionsSchema,
  model: removeBackgroundModel,
  run: (image, session, options, { signal }) => removeBackground(image, session, options, signal),
};

/** Cut the product out (ISNet on ONNX Runtime): the inference queue. */
export const removeBackgroundJob = defineJob({
  name: 'remove-background',
  queue: 'inference',
  data: inferenceJobSchema,
  servesRunStep: true,
  needs: 'steps',
  step: {
    name: 'remove-background',
    optionsSchema: removeBackgroundOptionsSchema,
    // The process with ISNet loaded; per pixel the photo, the float mask, the luma guide and the RGBA cut-out.
    memory: { fixedMb: 600, bytesPerPixel: 13.5 },
    options: (options) => options,
  },
  // The job's own logger, so model sessions opened for it name its run and step.
  handler: async (run, deps) =>
    processInference(
      'remove-background',
      step,
      run.data,
      await run.input(),
      { ...deps.inference, logger: run.logger },
      run.progress,
      run.signal,
    ),
});
