// Recipe presets offered by the upload form, and the step a scene template adds.

/** @type {Record<string, { label: string, hint: string, steps: Array<{ name: string, options?: object }> }>} */
export const PRESETS = {
  responsive: {
    label: 'Responsive set',
    hint: 'AVIF, WebP and JPEG at every width',
    steps: [{ name: 'render' }],
  },
  'remove-background': {
    label: 'Remove background',
    hint: 'Cut-out on transparency, then the responsive set',
    steps: [{ name: 'remove-background', options: { output: 'cutout' } }, { name: 'render' }],
  },
  'remove-background-upscale': {
    label: 'Remove background + upscale ×2',
    hint: 'Cut-out, twice the resolution, then the responsive set',
    steps: [{ name: 'remove-background', options: { output: 'cutout' } }, { name: 'upscale', options: { factor: 2 } }, { name: 'render' }],
  },
};

/**
 * The recipe for a preset and an optional template. A template places the product in a scene,
 * so it needs the cut-out: `generate` goes right after `remove-background`, which is added first
 * when the preset has none.
 */
export function buildRecipe(presetId, templateId) {
  const preset = PRESETS[presetId];
  if (!preset) throw new Error(`unknown preset ${presetId}`);
  const steps = preset.steps.map((s) => structuredClone(s));
  if (templateId) {
    let at = steps.findIndex((s) => s.name === 'remove-background');
    if (at < 0) {
      steps.unshift({ name: 'remove-background', options: { output: 'cutout' } });
      at = 0;
    }
    steps.splice(at + 1, 0, { name: 'generate', options: { template: templateId } });
  }
  return { steps };
}
