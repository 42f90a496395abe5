import { z } from 'zod';
import { isnetModel } from '../../models/isnet.js';
import type { ModelSpec } from '../../models/spec.js';

// Kept apart from the step so that recipe validation (in the API) does not load ONNX Runtime.

/** Options of the `remove-background` step, as accepted in a recipe. */
export const removeBackgroundOptionsSchema = z
  .object({
    model: z
      .enum(['small', 'medium'])
      .default('medium')
      .describe(
        'ISNet weights: `medium` (the fp16 weights run as float32 at 1024²; the default) or `small` (the int8-quantised weights run as float32 at 640²: the faster one).',
      ),
    refine: z
      .boolean()
      .default(true)
      .describe(
        "Snap the mask to the photo's edges (guided filter) and remove background colour from edge pixels (foreground estimation).",
      ),
    quality: z
      .enum(['standard', 'best'])
      .default('standard')
      .describe(
        "`standard`: one inference. `best`: three, the photo also framed smaller within the model's input (80% and 70%), and the per-pixel median of the three (test-time augmentation): steadier masks where the model's answer flips with the framing, for about three times the inference time.",
      ),
    output: z
      .enum(['cutout', 'mask', 'trim'])
      .default('cutout')
      .describe('`cutout`: RGBA, background transparent; `mask`: grey alpha matte; `trim`: cutout cropped to the product.'),
    padding: z
      .number()
      .min(0)
      .max(4096)
      .default(0)
      .describe('For `trim`: transparent margin around the product; below 1 a fraction of its longer side, otherwise pixels.'),
  })
  .strict()
  .refine((o) => o.padding === 0 || o.output === 'trim', { message: '`padding` applies only to `output: "trim"`', path: ['padding'] });

export type RemoveBackgroundOptions = z.output<typeof removeBackgroundOptionsSchema>;

/** The model spec the options pick; the caller opens its session and passes it in. */
export const removeBackgroundModel = (options: Pick<RemoveBackgroundOptions, 'model'>): ModelSpec => isnetModel(options.model);
