import { z } from 'zod';
import { pictureOptionsSchema } from '../cdn/picture.js';
import { AppError } from '../lib/errors.js';
import { checkJsonDepth } from '../lib/json-depth.js';
import { ownValue } from '../lib/own-keys.js';
import { CHANNEL_PRESETS, type ChannelName } from '../templates/channels.js';
import { STEP_NAMES, STEP_OPTIONS, type StepName } from './jobs/index.js';
import type { GenerateStepOptions } from './jobs/generate.js';
import type { RenderStepOptions } from './jobs/render.js';
import { checkStepMemory } from './step-memory.js';
import { widestRendition } from './steps/encoder-limits.js';
import { OUTPUT_FORMATS, type OutputFormat } from './steps/types.js';
import { pickUpscaleModel, type UpscaleOptions } from './steps/upscale-options.js';

/** The steps a recipe may name come from the job table: a step is available when a job carries it out. */
const stepSchema = z.object({
  name: z.enum(STEP_NAMES),
  options: z.record(z.string(), z.unknown()).optional(),
});

export const recipeSchema = z
  .object({
    steps: z.array(stepSchema).min(1).max(8),
    // Only the published HTML depends on it, not the images: it is not part of any step's options.
    picture: pictureOptionsSchema
      .optional()
      .describe("How the manifest's `<picture>` snippet loads (`lazy` or `eager` for the main image) and an optional `sizes` override."),
  })
  .strict()
  .describe('An ordered list of steps. The last step must be `render`; publishing always follows.');

export type Recipe = z.output<typeof recipeSchema>;
export type RecipeStep = Recipe['steps'][number];

export const DEFAULT_RECIPE: Recipe = { steps: [{ name: 'render' }] };

/**
 * The one way a recipe from a client is read, on every entry point (upload field, JSON body, run
 * on an asset, catalog line, command line): absent or blank → the default recipe; JSON text or a
 * parsed value; its shape checked. A fault is 422 `INVALID_RECIPE` wherever it was sent (a route's
 * own schema would say 400 on one route and 422 on another). `source` names it in the message.
 */
export function parseRecipe(input: unknown, source = 'The recipe'): Recipe {
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) return DEFAULT_RECIPE;
  let json = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch {
      throw new AppError('INVALID_RECIPE', `${source} is not valid JSON.`);
    }
    checkJsonDepth(json, source);
  }
  // A common first guess on POST /v1/assets/:id/runs, whose body is the recipe itself: say so.
  if (typeof json === 'object' && json !== null && !Array.isArray(json) && Object.hasOwn(json, 'recipe') && !Object.hasOwn(json, 'steps')) {
    throw new AppError('INVALID_RECIPE', `${source} is sent as itself ({ "steps": [...] }), not inside an object with a \`recipe\` field.`);
  }
  const parsed = recipeSchema.safeParse(json);
  if (!parsed.success) {
    throw new AppError(
      'INVALID_RECIPE',
      `Invalid recipe: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(recipe)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/**
 * A recipe in a route's schema: documented as the recipe it is, accepted as any JSON so that
 * `parseRecipe` judges it (422 on every route) instead of the route's validator (400).
 */
export const recipeInputSchema = z
  .unknown()
  .meta((({ $schema: _s, ...doc }) => doc)(z.toJSONSchema(recipeSchema, { io: 'input', unrepresentable: 'any' })));

/** A recipe after checking: each step's options parsed (defaults filled) by that step's own schema. */
export interface ValidRecipe {
  steps: Array<{ name: StepName; options: Record<string, unknown> }>;
}

/**
 * Check a recipe beyond its shape: every step must be available, `render` must come last and
 * only once, and each step's options must satisfy that step's schema. Throws a 422 `AppError`.
 */
export function validateRecipe(recipe: Recipe): ValidRecipe {
  const unavailable = recipe.steps.filter((s) => !ownValue(STEP_OPTIONS, s.name)).map((s) => s.name);
  if (unavailable.length) {
    const available = STEP_NAMES.filter((n) => ownValue(STEP_OPTIONS, n));
    throw new AppError(
      'STEP_NOT_AVAILABLE',
      `Step(s) not available in this version: ${unavailable.join(', ')}. Available: ${available.join(', ')}.`,
      { steps: unavailable },
    );
  }
  const renderAt = recipe.steps.findIndex((s) => s.name === 'render');
  if (renderAt !== recipe.steps.length - 1 || recipe.steps.filter((s) => s.name === 'render').length !== 1) {
    throw new AppError('INVALID_RECIPE', 'A recipe must end with exactly one `render` step.');
  }
  const generates = recipe.steps.filter((s) => s.name === 'generate').length;
  if (generates > 1 || (generates === 1 && recipe.steps[renderAt - 1]?.name !== 'generate')) {
    throw new AppError('INVALID_RECIPE', 'A recipe may have one `generate` step, right before `render`.');
  }
  return {
    steps: recipe.steps.map((step, index) => {
      const parsed = ownValue(STEP_OPTIONS, step.name)!.safeParse(step.options ?? {});
      if (!parsed.success) {
        throw new AppError('INVALID_RECIPE', `Invalid options for step ${index} (${step.name}): ${z.prettifyError(parsed.error)}`);
      }
      // Combinations a schema cannot express: an upscaling model must ship for that factor.
      if (step.name === 'upscale') {
        const { factor, model } = parsed.data as UpscaleOptions;
        pickUpscaleModel(factor, model);
      }
      return { name: step.name, options: parsed.data };
    }),
  };
}

/**
 * Refuse, before anything is enqueued, a recipe whose output would exceed the pixel limit (an
 * upscale of a large photo) or that no encoder of its formats could render (a strip taller than
 * 16383 times its width for WebP), so it fails in the request instead of minutes later in a worker.
 * Everything here is decided from the header's dimensions: call it before decoding.
 */
export function checkOutputSize(source: { width: number; height: number }, recipe: ValidRecipe, maxOutputPixels: number): void {
  const factor = recipe.steps.filter((s) => s.name === 'upscale').reduce((f, s) => f * (s.options as UpscaleOptions).factor, 1);
  const width = source.width * factor;
  const height = source.height * factor;
  // Only an upscale makes an image larger than its source, and MAX_INPUT_PIXELS already bounds the
  // source: a 100 MP photo rendered (or cut out) as it is makes nothing past that limit, and the
  // renditions themselves are at most 8192 px wide.
  if (factor > 1 && width * height > maxOutputPixels) {
    throw new AppError('IMAGE_TOO_LARGE', `This recipe would make a ${width}x${height} image; the limit is ${maxOutputPixels} pixels.`, {
      outputWidth: width,
      outputHeight: height,
      maxOutputPixels,
    });
  }
  const generate = recipe.steps.find((s) => s.name === 'generate');
  const { channels } = (generate?.options ?? {}) as GenerateStepOptions;
  if (channels) checkLayoutSize(channels, maxOutputPixels);
  // After generate, render works on the channel layouts (fixed presets that every encoder holds).
  if (!generate) widestRendition({ width, height }, renderFormats(recipe));
  checkStepMemory(source, recipe.steps);
}

/** The formats the recipe's render step makes (all of them unless it names some). */
function renderFormats(recipe: ValidRecipe): readonly OutputFormat[] {
  const render = recipe.steps.find((s) => s.name === 'render');
  return (render?.options as RenderStepOptions | undefined)?.formats ?? OUTPUT_FORMATS;
}

/** Refuse channel layouts larger than the output limit (a template's default channels are checked once resolved). */
export function checkLayoutSize(channels: readonly ChannelName[], maxOutputPixels: number): void {
  for (const channel of channels) {
    const { width, height } = CHANNEL_PRESETS[channel];
    if (width * height > maxOutputPixels) {
      throw new AppError('IMAGE_TOO_LARGE', `The ${channel} layout is ${width}x${height}; the limit is ${maxOutputPixels} pixels.`, {
        channel,
        outputWidth: width,
        outputHeight: height,
        maxOutputPixels,
      });
    }
  }
}
