import { z } from 'zod';
import { renderJobSchema } from '../catalogue.js';
import { processRender } from '../processors/render.js';
import { OUTPUT_FORMATS } from '../steps/types.js';
import { defineJob } from './types.js';

/** Options of the `render` step (the responsive set), as a recipe names them. */
export const renderStepOptionsSchema = z
  .object({
    widths: z
      .array(z.number().int().min(16).max(8192))
      .min(1)
      .max(16)
      .optional()
      .describe('Target widths in px; capped at the source width. Default: 320, 640, 960, 1280, 1920, 2560.'),
    formats: z.array(z.enum(OUTPUT_FORMATS)).min(1).optional().describe('Output formats. Default: avif, webp, jpeg.'),
  })
  .strict();
export type RenderStepOptions = z.output<typeof renderStepOptionsSchema>;

/** The responsive set (sharp): the render queue, and the last step of every recipe. */
export const renderJob = defineJob({
  name: 'render',
  queue: 'render',
  data: renderJobSchema,
  servesRunStep: true,
  needs: 'steps',
  step: {
    name: 'render',
    optionsSchema: renderStepOptionsSchema,
    // The photo and its resized copies.
    memory: { fixedMb: 100, bytesPerPixel: 8 },
    // The one place the render step's defaults are filled: RENDER_WIDTHS, and every format.
    options: (options, defaults) => {
      const { widths, formats } = options as RenderStepOptions;
      return { widths: widths ?? defaults.renderWidths, formats: formats ?? [...OUTPUT_FORMATS] };
    },
  },
  handler: async (run, deps) => processRender(run.data, await run.input(), deps.render, run.progress, run.signal),
});
