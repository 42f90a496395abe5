import { AppError } from '../lib/errors.js';
import type { UpscaleOptions } from './steps/upscale-options.js';

/** Most memory one step may need in one process: the target `bench/memory.ts` measures against. */
export const STEP_MEMORY_BUDGET_MB = 1536;

/**
 * A step's peak resident memory as a fixed part plus bytes per pixel of its input, measured with
 * `bench/memory.ts` at 64 MP (BENCHMARKS.md) and rounded up. Remove-background's fixed part is the
 * process with ISNet loaded; its pixels pay for the photo, the float mask, the luma guide and the
 * RGBA cut-out. Render holds the photo and its resized copies. Upscaling is bounded by
 * `MAX_OUTPUT_PIXELS` instead (its tiles are small; its output is the image a recipe makes).
 */
const STEP_MEMORY: Partial<Record<string, { fixedMb: number; bytesPerPixel: number }>> = {
  'remove-background': { fixedMb: 600, bytesPerPixel: 13.5 },
  render: { fixedMb: 100, bytesPerPixel: 8 },
};

/**
 * Refuse, from the header's dimensions, a recipe one of whose steps would need more than
 * {@link STEP_MEMORY_BUDGET_MB} for its input (the source, grown by any upscale before it): a
 * 100 MP remove-background would need about 1.95 GB. Steps after `generate` work on its fixed
 * channel layouts and are not checked here.
 *
 * @throws AppError 422 `IMAGE_TOO_LARGE` with `details.step`, `estimatedMb` and `budgetMb`.
 */
export function checkStepMemory(source: { width: number; height: number }, steps: ReadonlyArray<{ name: string; options: Record<string, unknown> }>): void {
  let pixels = source.width * source.height;
  for (const step of steps) {
    if (step.name === 'generate') return;
    const cost = STEP_MEMORY[step.name];
    const estimatedMb = cost ? Math.ceil(cost.fixedMb + (pixels * cost.bytesPerPixel) / 1024 / 1024) : 0;
    if (estimatedMb > STEP_MEMORY_BUDGET_MB) {
      const maxMegapixels = Math.floor(((STEP_MEMORY_BUDGET_MB - cost!.fixedMb) * 1024 * 1024) / cost!.bytesPerPixel / 1e6);
      throw new AppError('IMAGE_TOO_LARGE', `The ${step.name} step would need about ${estimatedMb} MB for a ${(pixels / 1e6).toFixed(1)} MP image; the limit per step is ${STEP_MEMORY_BUDGET_MB} MB (about ${maxMegapixels} MP for this step).`, {
        step: step.name, estimatedMb, budgetMb: STEP_MEMORY_BUDGET_MB, maxMegapixels,
      });
    }
    if (step.name === 'upscale') pixels *= (step.options as UpscaleOptions).factor ** 2;
  }
}
