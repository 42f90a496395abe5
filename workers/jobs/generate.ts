import { z } from 'zod';
import { CHANNEL_NAMES } from '../../templates/channels.js';
import { templateParamsSchema } from '../../templates/params.js';
import { templateIdSchema, templateSchema } from '../../templates/schema.js';
import { generateJobOptionsSchema, generateJobSchema } from '../catalogue.js';
import { processGenerate } from '../processors/generate.js';
import { defineJob } from './types.js';

/** Options of the `generate` step (a template scene, one layout per channel), as a recipe names them; resolved for the tenant at admission. */
export const generateStepOptionsSchema = z
  .object({
    template: templateIdSchema.describe('A built-in template id or one of your own (GET /v1/templates).'),
    params: templateParamsSchema.optional().describe("Overrides of the template's parameters for this run (e.g. colour)."),
    channels: z
      .array(z.enum(CHANNEL_NAMES))
      .min(1)
      .max(CHANNEL_NAMES.length)
      .refine((c) => new Set(c).size === c.length, 'each channel once')
      .optional()
      .describe(
        `Layouts to make, each published as its own responsive set: ${CHANNEL_NAMES.join(', ')}. Default: the template's channels.`,
      ),
    colourway: z.string().min(1).max(64).optional().describe('Recolour the product first: "#rrggbb" or a named colour.'),
  })
  .strict();
export type GenerateStepOptions = z.output<typeof generateStepOptionsSchema>;

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
  step: {
    name: 'generate',
    optionsSchema: generateStepOptionsSchema,
    accepts: (options) => !usesGenerator(options),
    options: (options) => generateJobOptionsSchema.parse(options),
  },
  handler: async (run, deps) => processGenerate(run.data, await run.input(), deps.generate, run.progress, run.signal),
});
