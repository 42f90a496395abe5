import { AppError } from '../lib/errors.js';
import { ownValue } from '../lib/own-keys.js';
import { STEP_MEMORY } from './jobs/index.js';
import type { UpscaleOptions } from './steps/upscale-options.js';

/** Most memory one step may need in one process: the target `bench/memory.ts` measures against. */
export const STEP_MEMORY_BUDGET_MB = 1536;

/**
 * Refuse, from the header's dimensions, a recipe one of whose steps would need more than
 * {@link STEP_MEMORY_BUDGET_MB} for its input (the source, grown by any upscale before it): a
 * 100 MP remove-background would need about 1.95 GB. Steps after `generate` work on its fixed
 * channel layouts and are not checked here.
 *
 * @throws AppError 422 `IMAGE_TOO_LARGE` with `details.step`, `estimatedMb` and `budgetMb`.
 */
export function checkStepMemory(
  source: { width: number; height: number },
  steps: ReadonlyArray<{ name: string; options: Record<string, unknown> }>,
): void {
  let pixels = source.width * source.height;
  for (const step of steps) {
    if (step.name === 'generate') return;
    const cost = ownValue(STEP_MEMORY, step.name);
    const estimatedMb = cost ? Math.ceil(cost.fixedMb + (pixels * cost.bytesPerPixel) / 1024 / 1024) : 0;
    if (estimatedMb > STEP_MEMORY_BUDGET_MB) {
      const maxMegapixels = Math.floor(((STEP_MEMORY_BUDGET_MB - cost!.fixedMb) * 1024 * 1024) / cost!.bytesPerPixel / 1e6);
      throw new AppError(
        'IMAGE_TOO_LARGE',
        `The ${step.name} step would need about ${estimatedMb} MB for a ${(pixels / 1e6).toFixed(1)} MP image; the limit per step is ${STEP_MEMORY_BUDGET_MB} MB (about ${maxMegapixels} MP for this step).`,
        {
          step: step.name,
          estimatedMb,
          budgetMb: STEP_MEMORY_BUDGET_MB,
          maxMegapixels,
        },
      );
    }
    if (step.name === 'upscale') pixels *= (step.options as UpscaleOptions).factor ** 2;
  }
}
