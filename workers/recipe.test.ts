import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.js';
import { checkOutputSize, DEFAULT_RECIPE, validateRecipe, type Recipe } from './recipe.js';

const MAX_OUTPUT = 64_000_000;
const check =
  (width: number, height: number, recipe: Recipe = DEFAULT_RECIPE) =>
  () =>
    checkOutputSize({ width, height }, validateRecipe(recipe), MAX_OUTPUT);
const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(422);
    return (err as AppError).code;
  }
};
const upscale = (factor: number): Recipe => ({ steps: [{ name: 'upscale', options: { factor } }, { name: 'render' }] });
const render = (formats: string[]): Recipe => ({ steps: [{ name: 'render', options: { formats } }] });

describe('checkOutputSize', () => {
  it('accepts sources up to MAX_INPUT_PIXELS (100 MP) with the default recipe: rendering makes nothing larger', () => {
    expect(codeOf(check(10_000, 10_000))).toBeUndefined();
    expect(codeOf(check(8_000, 8_000, { steps: [{ name: 'remove-background' }, { name: 'render' }] }))).toBeUndefined();
  });

  it('refuses an upscale whose output passes MAX_OUTPUT_PIXELS', () => {
    expect(codeOf(check(4_000, 4_000, upscale(2)))).toBeUndefined();
    expect(codeOf(check(4_001, 4_000, upscale(2)))).toBe('IMAGE_TOO_LARGE');
  });

  it('accepts tall images the renditions can be narrowed for, and refuses those no encoder can hold', () => {
    expect(codeOf(check(800, 17_000))).toBeUndefined();
    expect(codeOf(check(1, 16_383))).toBeUndefined();
    expect(codeOf(check(1, 16_384))).toBe('EXTREME_ASPECT_RATIO');
    expect(codeOf(check(1, 20_000))).toBe('EXTREME_ASPECT_RATIO');
    expect(codeOf(check(20_000, 1))).toBeUndefined();
    // JPEG alone goes to 65500 px; AVIF to 16384.
    expect(codeOf(check(1, 20_000, render(['jpeg'])))).toBeUndefined();
    expect(codeOf(check(1, 16_384, render(['avif'])))).toBeUndefined();
  });

  it('judges the encoders against the upscaled size, and not at all after generate (fixed layouts)', () => {
    // 800x5000 upscaled x4 is 3200x20000: rendered at most 2621x16383, so accepted.
    expect(codeOf(check(800, 5_000, upscale(4)))).toBeUndefined();
    expect(codeOf(check(1, 16_384, upscale(2)))).toBe('EXTREME_ASPECT_RATIO');
    expect(
      codeOf(check(1, 20_000, { steps: [{ name: 'generate', options: { template: 'studio' } }, { name: 'render' }] })),
    ).toBeUndefined();
  });

  it('holds each step to its memory budget per process (1536 MB): remove-background up to about 72 MP', () => {
    const cutout: Recipe = { steps: [{ name: 'remove-background' }, { name: 'render' }] };
    expect(codeOf(check(8_000, 8_000, cutout))).toBeUndefined();
    expect(codeOf(check(10_000, 10_000, cutout))).toBe('IMAGE_TOO_LARGE');
    try {
      check(10_000, 10_000, cutout)();
    } catch (err) {
      expect((err as AppError).details).toMatchObject({ step: 'remove-background', budgetMb: 1536, maxMegapixels: 72 });
    }
    // Upscaled first, the cut-out works on the larger image.
    expect(
      codeOf(
        check(4_500, 4_500, { steps: [{ name: 'upscale', options: { factor: 2 } }, { name: 'remove-background' }, { name: 'render' }] }),
      ),
    ).toBe('IMAGE_TOO_LARGE');
    // Rendering 100 MP as it is stays within the budget (about 860 MB).
    expect(codeOf(check(10_000, 10_000))).toBeUndefined();
  });
});
