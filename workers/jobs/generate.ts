import { generateJobOptionsSchema, generateJobSchema } from '../catalogue.js';
import { processGenerate } from '../processors/generate.js';
import { templateSchema } from '../../templates/schema.js';
import { defineJob } from './types.js';

/** Whether a resolved generate step's template takes its backdrop from the ONNX generator (the inference queue's model). */
export const usesGenerator = (options: Record<string, unknown>): boolean =>
  templateSchema.parse(generateJobOptionsSchema.parse(options).template).backdrop.type === 'generator';

/** Template scenes are CPU work (sharp): the render queue. The options were resolved for the tenant at admission (api/resolve-generate.ts). */
export const generateJob = defineJob({
  name: 'generate',
  queue: 'render',
  data: generateJobSchema,
  servesRunStep: true,
  needs: 'steps',
  step: { name: 'generate', accepts: (options) => !usesGenerator(options), options: (options) => generateJobOptionsSchema.parse(options) },
  handler: async (run, deps) => processGenerate(run.data, await run.input(), deps.generate, run.progress, run.signal),
});
