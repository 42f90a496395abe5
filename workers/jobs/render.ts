import { renderJobSchema } from '../catalogue.js';
import { processRender } from '../processors/render.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../steps/types.js';
import { defineJob } from './types.js';

/** The responsive set (sharp): the render queue, and the last step of every recipe. */
export const renderJob = defineJob({
  name: 'render',
  queue: 'render',
  data: renderJobSchema,
  servesRunStep: true,
  needs: 'steps',
  step: {
    name: 'render',
    // The one place the render step's defaults are filled: RENDER_WIDTHS, and every format.
    options: (options, defaults) => {
      const { widths, formats } = options as { widths?: number[]; formats?: OutputFormat[] };
      return { widths: widths ?? defaults.renderWidths, formats: formats ?? [...OUTPUT_FORMATS] };
    },
  },
  handler: async (run, deps) => processRender(run.data, await run.input(), deps.render, run.progress, run.signal),
});
