import { generateJobOptionsSchema, generateJobSchema } from '../catalogue.js';
import { processGenerate } from '../processors/generate.js';
import { generateStepOptionsSchema, usesGenerator } from './generate.js';
import { defineJob } from './types.js';

/** The generate step for templates whose backdrop comes from the ONNX generator: the inference queue, where the model runs. */
export const generateOnnxJob = defineJob({
  name: 'generate-onnx',
  queue: 'inference',
  data: generateJobSchema,
  servesRunStep: true,
  needs: 'steps',
  step: {
    name: 'generate',
    optionsSchema: generateStepOptionsSchema,
    accepts: usesGenerator,
    options: (options) => generateJobOptionsSchema.parse(options),
  },
  handler: async (run, deps) => processGenerate(run.data, await run.input(), deps.generate, run.progress, run.signal),
});
