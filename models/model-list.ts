import { UPSCALE_MODELS } from './esrgan.js';
import { ISNET_MODELS } from './isnet.js';
import { REALESRGAN_MODELS } from './realesrgan.js';
import type { ModelSpec } from './spec.js';

/** Every model the product can run, by name. */
export const MODELS: readonly ModelSpec[] = [...ISNET_MODELS, ...UPSCALE_MODELS, ...REALESRGAN_MODELS];

export function modelByName(name: string): ModelSpec {
  const spec = MODELS.find((m) => m.name === name);
  if (!spec) throw new Error(`Unknown model "${name}". Known: ${MODELS.map((m) => m.name).join(', ')}`);
  return spec;
}
